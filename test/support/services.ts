import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { deferred, within } from './deferred.js';

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * A Redis of a test's own on a spare loopback port, so fault tests can stop
 * and restart it without touching the shared one.
 */
export class OwnRedis {
  private process: ChildProcess | null = null;

  private constructor(readonly port: number) {}

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ready = deferred();
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) ready.resolve();
    });
    child.on('exit', (code) => ready.reject(new Error(`redis-server exited with ${code}: ${output}`)));
    await within(ready.promise, 10_000, 'redis-server to start');
    this.process = child;
  }

  /** SIGKILL: the clients see their connections drop, as in a crash. */
  async kill(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** Runs a PostgreSQL tool as the postgres user when we are root (PostgreSQL refuses to run as root). */
function pgCommand(tool: string, args: string[]): [string, string[]] {
  const binary = `${PG_BIN}/${tool}`;
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
}

function run(command: [string, string[]]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command[1], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command[1].join(' ')} exited with ${code}: ${output}`))));
  });
}

/**
 * A PostgreSQL server of a test's own (initdb into a temporary directory, a
 * spare loopback port, trust auth), so fault tests can stop and start it.
 */
export class OwnPostgres {
  private constructor(
    readonly port: number,
    private readonly dataDir: string,
  ) {}

  static async start(): Promise<OwnPostgres> {
    const { mkdtempSync, chownSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'rt-pg-'));
    if (process.getuid?.() === 0) {
      const { execFileSync } = await import('node:child_process');
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      chownSync(dir, uid, gid);
    }
    await run(pgCommand('initdb', ['-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']));
    const server = new OwnPostgres(await freePort(), dir);
    await server.start();
    return server;
  }

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dataDir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    await run(pgCommand('pg_ctl', ['-D', this.dataDir, '-o', options, '-w', '-t', '30', '-l', `${this.dataDir}/log`, 'start']));
  }

  /** Immediate shutdown: connections drop as in a crash; committed data survives. */
  async stop(): Promise<void> {
    await run(pgCommand('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']));
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => {});
    const { rmSync } = await import('node:fs');
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
