import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';

/** A DevTools protocol session with a process started with --inspect. */
interface InspectorSession {
  call: (method: string, params?: object) => Promise<Record<string, unknown>>;
  /** Protocol events (messages without an id). */
  on: (method: string, listener: (params: Record<string, unknown>) => void) => void;
  close: () => void;
}

async function inspect(inspectorUrl: string): Promise<InspectorSession> {
  const socket = new WebSocket(inspectorUrl);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let nextId = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const id = ++nextId;
      const onMessage = (data: WebSocket.RawData) => {
        const message = JSON.parse(data.toString()) as { id?: number; result?: Record<string, unknown> };
        if (message.id !== id) return;
        socket.off('message', onMessage);
        resolve(message.result ?? {});
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id, method, params }));
    });
  const on = (method: string, listener: (params: Record<string, unknown>) => void) =>
    socket.on('message', (data: WebSocket.RawData) => {
      const message = JSON.parse(data.toString()) as { method?: string; params?: Record<string, unknown> };
      if (message.method === method) listener(message.params ?? {});
    });
  return { call, on, close: () => socket.close() };
}

/** Writes a heap snapshot (for DevTools' Memory tab, or bench/lib/heap-summary.ts) to `file`. */
export async function writeHeapSnapshot(inspectorUrl: string, file: string): Promise<void> {
  const session = await inspect(inspectorUrl);
  const chunks: string[] = [];
  session.on('HeapProfiler.addHeapSnapshotChunk', (params) => chunks.push(String(params['chunk'])));
  await session.call('HeapProfiler.enable');
  await session.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  writeFileSync(file, chunks.join(''));
  session.close();
}

/**
 * The heap after a full garbage collection: what the process's objects really
 * keep, unlike RSS, which also counts garbage not yet collected and memory not
 * yet returned to the system.
 */
export async function heapUsedAfterGc(inspectorUrl: string): Promise<number> {
  const session = await inspect(inspectorUrl);
  await session.call('HeapProfiler.collectGarbage');
  await session.call('HeapProfiler.collectGarbage');
  const usage = await session.call('Runtime.getHeapUsage');
  session.close();
  return Number(usage['usedSize']);
}

/** Starts the CPU profiler; the returned function stops it and writes a .cpuprofile (for DevTools) to `file`. */
export async function startCpuProfile(inspectorUrl: string, file: string): Promise<() => Promise<void>> {
  const session = await inspect(inspectorUrl);
  await session.call('Profiler.enable');
  await session.call('Profiler.setSamplingInterval', { interval: 200 });
  await session.call('Profiler.start');
  return async () => {
    const { profile } = await session.call('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.close();
  };
}

/** The inspector's WebSocket URL from what `node --inspect` printed. */
export function inspectorUrlIn(output: string): string {
  const match = /Debugger listening on (ws:\/\/\S+)/.exec(output);
  if (!match) throw new Error('the server was not started with --inspect');
  return match[1]!;
}
