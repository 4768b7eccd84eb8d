/**
 * Concurrent single-row writers, straight to PostgreSQL (no server): inserts
 * into `notifications`, with the server's event triggers, against the same
 * inserts into a copy of the table without triggers, in the same run.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';

export interface WritersOptions {
  /** The admin connection: the benchmark creates (and drops) a database of its own beside it. */
  adminUrl: string;
  /** Writer counts, one step each. */
  writers: number[];
  /** Measured seconds per table and step. */
  seconds: number;
  /** Also run every step with all writers inserting for one user. */
  sameUser: boolean;
  log?: (line: string) => void;
}

export interface TableFigures {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** CPU of this benchmark process while it wrote, in % of one core: when near 100 the client, not PostgreSQL, is the limit. */
  clientCpuPercent: number;
}

export interface WritersStep {
  keys: 'distinct users' | 'one user';
  writers: number;
  event: TableFigures;
  plain: TableFigures;
  /** event rows/s ÷ plain rows/s. */
  ratio: number;
}

type Table = 'event' | 'plain';

const TABLES: Record<Table, { name: string; statement: string }> = {
  event: { name: 'notifications', statement: 'bench_insert_event' },
  plain: { name: 'notifications_plain', statement: 'bench_insert_plain' },
};

/**
 * notifications as migrations/20261122T0000_foundation.sql creates it, with
 * its constraints and both indexes, and no triggers. Spelt out rather than
 * copied with LIKE, so that it stays the same baseline when notifications changes.
 */
const PLAIN_TABLE = `
create table notifications_plain (
  id bigserial primary key,
  user_id text not null,
  kind text not null default 'GENERAL'
    check (kind in ('ORDER_UPDATE', 'NEW_ORDER', 'MESSAGE', 'PAYMENT', 'SYSTEM', 'GENERAL')),
  priority text not null default 'NORMAL' check (priority in ('LOW', 'NORMAL', 'HIGH', 'URGENT')),
  title text not null,
  body text not null default '',
  data jsonb,
  read_at timestamptz,
  created_at timestamptz not null default now()
);
create index notifications_plain_by_user on notifications_plain (user_id, id desc);
create index notifications_plain_unread_by_user on notifications_plain (user_id, id) where read_at is null;
`;

/** Distinct users: each writer its own 50 (`w<writer>-<0..49>`), so writers touch different keys. */
const USERS_PER_WRITER = 50;

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  return client;
}

async function createDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `rt_bench_writers_${randomBytes(6).toString('hex')}`;
  const admin = await connect(adminUrl);
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = await connect(adminUrl);
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

function insert(client: pg.Client, table: Table, userId: string, title: string): Promise<pg.QueryResult> {
  const { name, statement } = TABLES[table];
  // A named query: prepared once per connection, then only bound and executed (as for both tables).
  return client.query({ name: statement, text: `insert into ${name} (user_id, title) values ($1, $2)`, values: [userId, title] });
}

interface Segment {
  rows: number;
  seconds: number;
  latencies: Float64Array;
  cpuSeconds: number;
}

/** Every writer inserts one row at a time, each after the previous one committed, until the deadline. */
async function runSegment(clients: pg.Client[], table: Table, seconds: number, sameUser: boolean): Promise<Segment> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const perWriter = await Promise.all(
    clients.map(async (client, writer) => {
      const latencies: number[] = [];
      for (let i = 0; ; i += 1) {
        const before = performance.now();
        if (before >= deadline) break;
        await insert(client, table, sameUser ? 'w-same' : `w${writer}-${i % USERS_PER_WRITER}`, `writer ${writer} row ${i}`);
        latencies.push(performance.now() - before);
      }
      return latencies;
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const rows = perWriter.reduce((sum, latencies) => sum + latencies.length, 0);
  const latencies = new Float64Array(rows);
  let at = 0;
  for (const own of perWriter) {
    latencies.set(own, at);
    at += own.length;
  }
  return { rows, seconds: elapsed, latencies, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

function figures(segments: Segment[]): TableFigures {
  const rows = segments.reduce((sum, s) => sum + s.rows, 0);
  const seconds = segments.reduce((sum, s) => sum + s.seconds, 0);
  const sorted = new Float64Array(rows);
  let at = 0;
  for (const segment of segments) {
    sorted.set(segment.latencies, at);
    at += segment.rows;
  }
  sorted.sort();
  const quantile = (q: number) => sorted[Math.min(rows - 1, Math.floor(q * rows))] ?? 0;
  const round2 = (value: number) => Math.round(value * 100) / 100;
  return {
    rows,
    seconds: round2(seconds),
    rowsPerSecond: Math.round(rows / seconds),
    p50: round2(quantile(0.5)),
    p99: round2(quantile(0.99)),
    max: round2(sorted[rows - 1] ?? 0),
    clientCpuPercent: Math.round((100 * segments.reduce((sum, s) => sum + s.cpuSeconds, 0)) / seconds),
  };
}

/**
 * One run: a fresh database with the server's migrations (through the
 * server's own migrator, so the triggers are exactly the server's), the plain
 * copy beside it, then for each writer count both tables in A-B-B-A order
 * (half the seconds per segment, the order flipped on every other step) so
 * that drift in the machine's load falls on both alike. Every segment starts
 * from empty tables.
 */
export async function runWriters(options: WritersOptions): Promise<WritersStep[]> {
  const log = options.log ?? (() => {});
  const database = await createDatabase(options.adminUrl);
  let control: pg.Client | undefined;
  try {
    const handle = await openDatabase({ databaseUrl: database.url, databasePoolSize: 10, dataDir: '' });
    try {
      await migrate(handle);
    } finally {
      await handle.close();
    }
    control = await connect(database.url);
    await control.query(PLAIN_TABLE);
    // What the migrations left empty (all but their bookkeeping, e.g. schema_migrations) is emptied
    // before every segment: the outbox and whatever else the triggers write to, whatever they are.
    const tables = (await control.query<{ name: string }>(`select format('%I.%I', schemaname, tablename) as name from pg_tables where schemaname = current_schema()`)).rows.map((row) => row.name);
    const empty: string[] = [];
    for (const table of tables) {
      if ((await control.query(`select 1 from ${table} limit 1`)).rowCount === 0) empty.push(table);
    }
    // A table that a kept row references stays as it is (partners: users keeps the built-in system user).
    const referenced = await control.query<{ name: string }>(
      `select distinct format('%I.%I', n.nspname, t.relname) as name
       from pg_constraint c join pg_class t on t.oid = c.confrelid join pg_namespace n on n.oid = t.relnamespace
       join pg_class r on r.oid = c.conrelid
       where c.contype = 'f' and not (format('%I.%I', n.nspname, r.relname) = any ($1::text[]))`,
      [empty],
    );
    const kept = new Set(referenced.rows.map((row) => row.name));
    const truncate = `truncate ${empty.filter((table) => !kept.has(table)).join(', ')} restart identity`;
    const ctl = control;

    const steps: WritersStep[] = [];
    const runs: boolean[] = options.sameUser ? [false, true] : [false];
    let stepIndex = 0;
    for (const sameUser of runs) {
      for (const writers of options.writers) {
        const clients: pg.Client[] = [];
        try {
          for (let i = 0; i < writers; i += 1) clients.push(await connect(database.url));
          // Prepares both statements on every connection before anything is timed.
          await Promise.all(clients.map(async (client, writer) => {
            await insert(client, 'event', `w${writer}-warm`, 'warm-up');
            await insert(client, 'plain', `w${writer}-warm`, 'warm-up');
          }));
          const order: Table[] = stepIndex % 2 === 0 ? ['event', 'plain', 'plain', 'event'] : ['plain', 'event', 'event', 'plain'];
          const segments: Record<Table, Segment[]> = { event: [], plain: [] };
          for (const table of order) {
            await ctl.query(truncate);
            const segment = await runSegment(clients, table, options.seconds / 2, sameUser);
            const counted = Number((await ctl.query<{ n: string }>(`select count(*) as n from ${TABLES[table].name}`)).rows[0]?.n);
            if (counted !== segment.rows) throw new Error(`${TABLES[table].name}: ${segment.rows} inserts completed, ${counted} rows found`);
            segments[table].push(segment);
          }
          const event = figures(segments.event);
          const plain = figures(segments.plain);
          const step: WritersStep = {
            keys: sameUser ? 'one user' : 'distinct users',
            writers,
            event,
            plain,
            ratio: Math.round((event.rowsPerSecond / plain.rowsPerSecond) * 100) / 100,
          };
          steps.push(step);
          log(`  ${step.keys}, ${writers} writers: event ${event.rowsPerSecond} rows/s, plain ${plain.rowsPerSecond} rows/s`);
        } finally {
          await Promise.all(clients.map((client) => client.end().catch(() => {})));
        }
        stepIndex += 1;
      }
    }
    await ctl.query(truncate);
    return steps;
  } finally {
    await control?.end().catch(() => {});
    await database.drop();
  }
}

export function writersTable(steps: WritersStep[]): string {
  const lines = [
    '| writers | event rows/s | event p50 ms | event p99 ms | plain rows/s | plain p50 ms | plain p99 ms | ratio (event/plain rows/s) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of steps) {
    lines.push(`| ${s.writers} | ${s.event.rowsPerSecond} | ${s.event.p50.toFixed(2)} | ${s.event.p99.toFixed(2)} | ${s.plain.rowsPerSecond} | ${s.plain.p50.toFixed(2)} | ${s.plain.p99.toFixed(2)} | ${s.ratio.toFixed(2)} |`);
  }
  return lines.join('\n');
}
