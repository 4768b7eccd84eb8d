/**
 * The load process: opens N WebSocket connections to a server and reports
 * what arrives. Speaks graphql-transport-ws itself (lean: no client library
 * per socket) or, against the raw baseline, nothing at all.
 *
 * Controlled over IPC by bench/fanout.ts (bench/fanout/load.ts):
 *   → { kind: 'connect', url, mode: 'graphql' | 'raw', tokens, subscriptions: string[], variables? }
 *   ← { kind: 'connected', failed }
 *   → { kind: 'collect', expected, timeoutMs }   ← { kind: 'collected', received, latencies }
 *   → { kind: 'expect', expected }   during a collect: fewer are coming (their mutations failed), done at that many
 */
import WebSocket from 'ws';

interface ConnectCommand {
  kind: 'connect';
  url: string;
  mode: 'graphql' | 'raw';
  tokens: string[];
  subscriptions: string[];
  /** Variables of every subscription of connection i (e.g. the order it watches). */
  variables?: Record<string, unknown>[];
}
interface CollectCommand {
  kind: 'collect';
  expected: number;
  timeoutMs: number;
}
type Command = ConnectCommand | CollectCommand | { kind: 'expect'; expected: number } | { kind: 'close' };

const sockets: WebSocket[] = [];
let received = 0;
let latencies: number[] = [];
let onReceive: (() => void) | null = null;
/** What the collect under way waits for. */
let target = 0;

/** Frames carry their send time as `t:<epoch ms>` (a notification title, a chat message body), or their commit time as `updatedAt` (orders) or `occurredAt` (activity). */
function sentAt(text: string): number | null {
  const stamp = /t:(\d{13})/.exec(text);
  if (stamp) return Number(stamp[1]);
  const committed = /"(?:updatedAt|occurredAt)":"([^"]+)"/.exec(text);
  return committed ? Date.parse(committed[1]!) : null;
}

function record(data: WebSocket.RawData): void {
  const text = data.toString();
  if (text.includes('"type":"connection_ack"') || text.includes('"type":"pong"') || text.includes('"type":"complete"')) return;
  const sent = sentAt(text);
  if (sent === null) return;
  received += 1;
  latencies.push(Date.now() - sent);
  onReceive?.();
}

function open(command: ConnectCommand, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(command.url, command.mode === 'graphql' ? 'graphql-transport-ws' : undefined);
    sockets.push(socket);
    socket.once('error', reject);
    socket.on('open', () => {
      if (command.mode === 'raw') return resolve();
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${command.tokens[index]}` } }));
    });
    socket.on('message', (data) => {
      if (command.mode === 'graphql' && data.toString().includes('"connection_ack"')) {
        const variables = command.variables?.[index];
        command.subscriptions.forEach((query, id) => socket.send(JSON.stringify({ id: String(id + 1), type: 'subscribe', payload: { query, variables } })));
        resolve();
        return;
      }
      record(data);
    });
    socket.on('close', (code) => reject(new Error(`closed with ${code}`)));
  });
}

async function connect(command: ConnectCommand): Promise<number> {
  let failed = 0;
  const batch = 200;
  for (let start = 0; start < command.tokens.length; start += batch) {
    const opening = [];
    for (let i = start; i < Math.min(start + batch, command.tokens.length); i += 1) opening.push(open(command, i).catch(() => (failed += 1)));
    await Promise.all(opening);
  }
  return failed;
}

function collect(command: CollectCommand): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, command.timeoutMs);
    function done() {
      clearTimeout(timer);
      onReceive = null;
      resolve();
    }
    target = command.expected;
    if (received >= target) return done();
    onReceive = () => {
      if (received >= target) done();
    };
  });
}

process.on('message', async (command: Command) => {
  if (command.kind === 'connect') {
    const failed = await connect(command);
    process.send!({ kind: 'connected', failed });
  } else if (command.kind === 'expect') {
    target = command.expected;
    onReceive?.();
  } else if (command.kind === 'collect') {
    await collect(command);
    process.send!({ kind: 'collected', received, latencies });
    received = 0;
    latencies = [];
  } else {
    for (const socket of sockets) socket.terminate();
    process.exit(0);
  }
});
