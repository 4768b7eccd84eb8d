/**
 * Chat latency: sendMessage (HTTP) by one user → messageAdded (graphql-ws) at
 * the other participant, on each backend; the server runs in its own process.
 *
 *   npx tsx bench/chat-latency.ts                        both backends, 200 samples each
 *   npx tsx bench/chat-latency.ts --samples 500 --backend postgres+redis
 */
import { parseArgs } from 'node:util';
import { MeDocument, MessageAddedDocument, OpenDirectConversationDocument, SendMessageDocument } from '../test/generated/graphql.js';
import { httpData, wsConnect } from '../test/support/clients.js';
import { backendEnv, BACKENDS, startServerProcess, token, type BackendName } from '../test/support/server.js';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '200' },
    backend: { type: 'string' },
    warmup: { type: 'string', default: '20' },
  },
});
const samples = Number(values.samples);
const warmup = Number(values.warmup);
const backends = values.backend ? [values.backend as BackendName] : BACKENDS;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(backend: BackendName) {
  const { env, cleanup } = await backendEnv(backend);
  // Sequential round trips would trip the 30-per-10-s limit; latency, not the limiter, is measured here.
  const server = await startServerProcess({ ...env, LOG_LEVEL: 'warn', SEND_MESSAGE_LIMIT: '1000000' });
  try {
    const sender = await token({ sub: 'bench-sender', role: 'customer' });
    const receiver = await token({ sub: 'bench-receiver', role: 'customer' });
    await httpData(server.url, MeDocument, {}, receiver);
    const conversationId = (await httpData(server.url, OpenDirectConversationDocument, { userId: 'bench-receiver' }, sender)).openDirectConversation.id;
    const send = (body: string) => httpData(server.url, SendMessageDocument, { input: { conversationId, body } }, sender);
    const first = await send('warm-up');
    const socket = wsConnect(server.url, { authorization: `Bearer ${receiver}` });
    await socket.connected;
    // Replaying from before the warm-up message proves the subscription is live.
    const events = socket.subscribe(MessageAddedDocument, { conversationId, since: String(BigInt(first.sendMessage.id) - 1n) });
    await events.next(15_000);
    const latencies: number[] = [];
    for (let i = 0; i < warmup + samples; i += 1) {
      const started = performance.now();
      await send(`probe ${i}`);
      const event = await events.next(15_000);
      const elapsed = performance.now() - started;
      if (event.messageAdded.body !== `probe ${i}`) throw new Error(`out of order: ${event.messageAdded.body}`);
      if (i >= warmup) latencies.push(elapsed);
    }
    await socket.dispose();
    const sorted = [...latencies].sort((a, b) => a - b);
    const round = (ms: number) => Math.round(ms * 100) / 100;
    return { backend, samples, medianMs: round(percentile(sorted, 50)), p95Ms: round(percentile(sorted, 95)), maxMs: round(sorted[sorted.length - 1]!) };
  } finally {
    await server.kill('SIGTERM');
    await cleanup();
  }
}

const results = [];
for (const backend of backends) results.push(await measure(backend));
console.log('\nsendMessage (HTTP) → messageAdded at the other participant (graphql-ws), sequential round trips\n');
console.log('| backend | samples | median ms | p95 ms | max ms |');
console.log('| --- | --- | --- | --- | --- |');
for (const r of results) console.log(`| ${r.backend} | ${r.samples} | ${r.medianMs} | ${r.p95Ms} | ${r.maxMs} |`);
process.exit(0);
