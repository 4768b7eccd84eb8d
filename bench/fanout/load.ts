/** The child processes of a run (the load process, the raw server): forking them, asking over IPC, connecting the load. */
import { fork, type ChildProcess } from 'node:child_process';
import { processUsage } from '../lib/proc.js';
import { sleep } from './pacing.js';

export type Reply = { kind: string; failed?: number; received?: number; latencies?: number[]; port?: number };

/** Forks one of bench/lib's processes (the load process, the raw server), run through tsx, with IPC. */
export function child(script: string): ChildProcess {
  return fork(new URL(script, import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

export function ask(process: ChildProcess, message: object, replyKind: string): Promise<Reply> {
  return new Promise((resolve) => {
    const onMessage = (reply: Reply) => {
      if (reply.kind !== replyKind) return;
      process.off('message', onMessage);
      resolve(reply);
    };
    process.on('message', onMessage);
    if (Object.keys(message).length) process.send(message);
  });
}

/** Opens N connections from a fresh load process; returns it with the server's RSS growth per connection. */
export async function connectLoad(url: string, mode: 'graphql' | 'raw', tokens: string[], subscriptions: string[], serverPid: number, variables?: Record<string, unknown>[]) {
  const load = child('../lib/load-client.ts');
  const before = processUsage(serverPid).rssBytes;
  const reply = await ask(load, { kind: 'connect', url, mode, tokens, subscriptions, variables }, 'connected');
  if (reply.failed) console.warn(`${reply.failed} of ${tokens.length} connections failed`);
  await sleep(500);
  const bytesPerConnection = Math.round((processUsage(serverPid).rssBytes - before) / tokens.length);
  return { load, bytesPerConnection };
}
