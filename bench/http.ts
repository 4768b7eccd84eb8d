/**
 * HTTP path benchmark: the server's CPU per request, beside a plain node:http
 * handler and a bare `createYoga` hello world started in the same run.
 *
 *   npm run bench:http                                  PostgreSQL + Redis, production build (~1 min)
 *   npm run bench:http -- --duration 5 --rounds 5 --embedded
 *   npm run bench:http -- --profile bench/results/profiles   also writes a CPU profile per request kind
 *   npm run bench:http -- --against ../old-checkout          also measures that checkout's build (its dist/), interleaved
 *
 * Each row gets `--concurrency` POSTs in flight over keep-alive connections
 * for `--duration` seconds (after a warm-up of the same kind); CPU is the
 * server process's utime + stime from /proc. All rows are measured once per
 * round, `--rounds` times, and the table shows each row's median (the
 * machine may be busy with other things). Request kinds: `{ __typename }`
 * without and with a token, `{ unreadNotificationCount }` and
 * `sendNotification` (an admin token, one recipient per mutation, no
 * subscriber). With --profile this server's first round runs under the
 * profiler; summarize a profile with `tsx bench/lib/profile-summary.ts <file>`.
 * Results: bench/results/http-*.json and a markdown table on stdout.
 */
import { execSync, fork, type ChildProcess } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { asProduction, backendEnv, startServerProcess, token } from '../test/support/server.js';
import { inspectorUrlIn, startCpuProfile } from './lib/inspector.js';
import { percentiles, processUsage } from './lib/proc.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '16' },
    /** Times every row is measured (interleaved); the table shows each row's median. */
    rounds: { type: 'string', default: '3' },
    embedded: { type: 'boolean', default: false },
    /** Runs the server's TypeScript through tsx instead of the build in dist/. */
    tsx: { type: 'boolean', default: false },
    /** Writes a V8 CPU profile of the server's measured phase of each request kind to this directory. */
    profile: { type: 'string' },
    /** Request kinds to run against the server (comma-separated names from KINDS); all by default. */
    kinds: { type: 'string' },
    /** Another checkout (built: its dist/) measured as one more target in the same rounds: a before/after in one run. */
    against: { type: 'string' },
  },
});
const DURATION_S = Number(values.duration);
const WARMUP_S = Number(values.warmup);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
const backend = values.embedded ? 'embedded' : 'postgres+redis';
/** Recipients of sendNotification, round-robin: one per mutation. */
const RECIPIENTS = 1000;

interface Kind {
  name: string;
  /** The request body of request number i. */
  body: (i: number) => string;
  token: 'none' | 'customer' | 'admin';
  /** What a correct answer contains. */
  expect: string;
}

const KINDS: Kind[] = [
  { name: '{ __typename }, no token', body: () => '{"query":"{ __typename }"}', token: 'none', expect: '"__typename":"Query"' },
  { name: '{ __typename }, token', body: () => '{"query":"{ __typename }"}', token: 'customer', expect: '"__typename":"Query"' },
  { name: '{ unreadNotificationCount }', body: () => '{"query":"{ unreadNotificationCount }"}', token: 'customer', expect: '"unreadNotificationCount":' },
  {
    name: 'sendNotification, 1 user',
    body: (i) =>
      JSON.stringify({
        query: 'mutation ($input: SendNotificationInput!) { sendNotification(input: $input) }',
        variables: { input: { userIds: [`bench-u${i % RECIPIENTS}`], title: `t:${Date.now()}`, body: 'bench' } },
      }),
    token: 'admin',
    expect: '"sendNotification":1',
  },
];
const TYPENAME = KINDS[0]!;

interface Row {
  target: string;
  kind: string;
  requests: number;
  failed: number;
  requestsPerSecond: number;
  cpuMicrosPerRequest: number;
  latency: ReturnType<typeof percentiles>;
}

/** Sends `kind` with CONCURRENCY requests in flight for `seconds`; returns what came back. */
async function drive(port: number, kind: Kind, authorization: string | null, seconds: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const deadline = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  let requests = 0;
  let failed = 0;
  let firstFailure: string | null = null;
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const body = kind.body(i);
      const started = performance.now();
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        'content-length': String(Buffer.byteLength(body)),
      };
      if (authorization) headers['authorization'] = authorization;
      const request = httpRequest({ host: '127.0.0.1', port, path: '/graphql', method: 'POST', agent, headers }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          latencies.push(performance.now() - started);
          requests += 1;
          if (response.statusCode !== 200 || !text.includes(kind.expect) || text.includes('"errors"')) {
            failed += 1;
            firstFailure ??= `${response.statusCode} ${text.slice(0, 300)}`;
          }
          resolve();
        });
      });
      request.on('error', (error) => {
        failed += 1;
        firstFailure ??= String(error);
        resolve();
      });
      request.end(body);
    });
  let next = 0;
  const worker = async () => {
    while (performance.now() < deadline) await one(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  if (firstFailure) console.warn(`${kind.name}: ${failed} failed, the first: ${firstFailure}`);
  return { requests, failed, latencies };
}

/** Warms `kind` up, then measures it: requests/s and the server's CPU per request. */
async function measure(target: string, pid: number, port: number, kind: Kind, authorization: string | null, profile?: () => Promise<() => Promise<void>>): Promise<Row> {
  await drive(port, kind, authorization, WARMUP_S);
  const stopProfile = profile ? await profile() : null;
  const before = processUsage(pid).cpuSeconds;
  const started = performance.now();
  const { requests, failed, latencies } = await drive(port, kind, authorization, DURATION_S);
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = processUsage(pid).cpuSeconds - before;
  await stopProfile?.();
  return {
    target,
    kind: kind.name,
    requests,
    failed,
    requestsPerSecond: Math.round(requests / seconds),
    cpuMicrosPerRequest: Math.round((cpuSeconds * 1e6) / Math.max(1, requests)),
    latency: percentiles(latencies),
  };
}

interface Target {
  name: string;
  pid: number;
  port: number;
  kinds: Kind[];
  close(): Promise<unknown>;
}

async function baseline(which: 'plain' | 'yoga'): Promise<Target> {
  const child: ChildProcess = fork(new URL('./lib/http-baselines.ts', import.meta.url).pathname, [which], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve) => child.once('message', (message: { port: number }) => resolve(message.port)));
  return {
    name: which === 'plain' ? 'plain node:http' : 'bare createYoga',
    pid: child.pid!,
    port,
    kinds: [TYPENAME],
    close: async () => child.send({ kind: 'close' }),
  };
}

const kinds = values.kinds ? KINDS.filter((kind) => values.kinds!.split(',').some((name) => kind.name.startsWith(name.trim()))) : KINDS;
if (!values.tsx) execSync('npm run build --silent', { stdio: 'inherit' });
const { env, cleanup } = await backendEnv(backend);
// As production runs it; LOG_LEVEL info is its default.
const server = await startServerProcess(asProduction({ ...env, LOG_LEVEL: 'info' }), values.profile ? ['--inspect=127.0.0.1:0'] : [], { compiled: !values.tsx });
const targets: Target[] = [
  await baseline('plain'),
  await baseline('yoga'),
  { name: 'this server', pid: server.child.pid!, port: Number(new URL(server.url).port), kinds, close: () => server.kill('SIGTERM') },
];
if (values.against) {
  // Its own database and key prefix, so the two servers' rows and relays do not meet.
  const other = await backendEnv(backend);
  const against = await startServerProcess(asProduction({ ...other.env, LOG_LEVEL: 'info' }), [], { compiled: true, cwd: values.against });
  targets.push({
    name: `build at ${values.against}`,
    pid: against.child.pid!,
    port: Number(new URL(against.url).port),
    kinds,
    close: async () => {
      await against.kill('SIGTERM');
      await other.cleanup();
    },
  });
}
const tokens = {
  none: null,
  customer: `Bearer ${await token({ sub: 'bench-u0', role: 'customer' }, '2h')}`,
  admin: `Bearer ${await token({ sub: 'bench-admin', role: 'admin' }, '2h')}`,
};
const profileOf = (target: Target, kind: Kind) =>
  values.profile && target.pid === server.child.pid
    ? () => {
        mkdirSync(values.profile!, { recursive: true });
        const file = `${values.profile}/http-${kind.name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '')}.cpuprofile`;
        return startCpuProfile(inspectorUrlIn(server.output()), file);
      }
    : undefined;
/** Every round measures every row once, so a machine that gets busier part-way hits all rows alike; each row reports its median round. */
const rounds: Row[][] = [];
try {
  for (let round = 0; round < ROUNDS; round += 1) {
    const measured: Row[] = [];
    for (const target of targets) {
      for (const kind of target.kinds) {
        measured.push(await measure(target.name, target.pid, target.port, kind, tokens[kind.token], round === 0 ? profileOf(target, kind) : undefined));
      }
    }
    rounds.push(measured);
  }
} finally {
  for (const target of targets) await target.close();
  await cleanup();
}
const rows = rounds[0]!.map((_, index) => {
  const sorted = rounds.map((measured) => measured[index]!).sort((a, b) => a.cpuMicrosPerRequest - b.cpuMicrosPerRequest);
  return sorted[Math.floor(sorted.length / 2)]!;
});

const plainCpu = rows[0]!.cpuMicrosPerRequest;
console.log(
  `\nHTTP on ${backend}, ${CONCURRENCY} in flight (keep-alive), ${DURATION_S} s per row after ${WARMUP_S} s of warm-up, median of ${ROUNDS} rounds` +
    `${values.profile ? ' (the first round of this server under the profiler)' : ''}\n`,
);
console.log('| target | request | requests (failed) | req/s | server CPU µs/request | ratio to node:http | p50 ms | p99 ms |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) {
  console.log(
    `| ${row.target} | ${row.kind} | ${row.requests} (${row.failed}) | ${row.requestsPerSecond} | ${row.cpuMicrosPerRequest} | ${(row.cpuMicrosPerRequest / plainCpu).toFixed(1)}× | ${row.latency.p50} | ${row.latency.p99} |`,
  );
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(`bench/results/http-${backend}.json`, JSON.stringify({ at: new Date().toISOString(), backend, CONCURRENCY, DURATION_S, WARMUP_S, ROUNDS, rows, rounds }, null, 2));
process.exit(0);
