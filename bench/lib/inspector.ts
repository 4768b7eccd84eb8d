import WebSocket from 'ws';

/**
 * Asks a process started with --inspect for its heap after a full garbage
 * collection: what its objects really keep, unlike RSS, which also counts
 * garbage not yet collected and memory not yet returned to the system.
 */
export async function heapUsedAfterGc(inspectorUrl: string): Promise<number> {
  const socket = new WebSocket(inspectorUrl);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let nextId = 0;
  const call = (method: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const id = ++nextId;
      const onMessage = (data: WebSocket.RawData) => {
        const message = JSON.parse(data.toString()) as { id?: number; result?: Record<string, unknown> };
        if (message.id !== id) return;
        socket.off('message', onMessage);
        resolve(message.result ?? {});
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id, method }));
    });
  await call('HeapProfiler.collectGarbage');
  await call('HeapProfiler.collectGarbage');
  const usage = await call('Runtime.getHeapUsage');
  socket.close();
  return Number(usage['usedSize']);
}

/** The inspector's WebSocket URL from what `node --inspect` printed. */
export function inspectorUrlIn(output: string): string {
  const match = /Debugger listening on (ws:\/\/\S+)/.exec(output);
  if (!match) throw new Error('the server was not started with --inspect');
  return match[1]!;
}
