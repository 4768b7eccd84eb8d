/**
 * Latency from sending a mutation to receiving its event over graphql-ws, on
 * each backend: the server runs in its own process, this one is the client.
 *
 *   npm run bench                      both backends, 100 samples each
 *   npm run bench -- --samples 500 --backend embedded
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MeDocument, NotificationAddedDocument, SendNotificationDocument } from '../test/generated/graphql.js';
import { httpData, wsConnect } from '../test/support/clients.js';
import { backendEnv, BACKENDS, startServerProcess, token, type BackendName } from '../test/support/server.js';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '100' },
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
  const server = await startServerProcess({ ...env, LOG_LEVEL: 'warn' });
  try {
    const customer = await token({ sub: 'bench-user', role: 'customer' });
    const admin = await token({ sub: 'bench-admin', role: 'admin' });
    await httpData(server.url, MeDocument, {}, customer);
    const socket = wsConnect(server.url, { authorization: `Bearer ${customer}` });
    await socket.connected;
    const events = socket.subscribe(NotificationAddedDocument, {});
    const send = (title: string) =>
      httpData(server.url, SendNotificationDocument, { input: { userIds: ['bench-user'], title, body: 'latency probe' } }, admin);
    // The first events prove the subscription is live and warm the JIT and pools.
    await send('warm-up');
    await events.next(15_000);
    const latencies: number[] = [];
    for (let i = 0; i < warmup + samples; i += 1) {
      const started = performance.now();
      await send(`probe ${i}`);
      const event = await events.next(15_000);
      const elapsed = performance.now() - started;
      if (event.notificationAdded.title !== `probe ${i}`) throw new Error(`out of order: ${event.notificationAdded.title}`);
      if (i >= warmup) latencies.push(elapsed);
    }
    await socket.dispose();
    const sorted = [...latencies].sort((a, b) => a - b);
    const round = (ms: number) => Math.round(ms * 100) / 100;
    return {
      backend,
      samples,
      medianMs: round(percentile(sorted, 50)),
      p95Ms: round(percentile(sorted, 95)),
      p99Ms: round(percentile(sorted, 99)),
      maxMs: round(sorted[sorted.length - 1]!),
    };
  } finally {
    await server.kill('SIGTERM');
    await cleanup();
  }
}

const results = [];
for (const backend of backends) results.push(await measure(backend));
console.log('\nsendNotification (HTTP) → notificationAdded (graphql-ws), sequential round trips\n');
console.log('| backend | samples | median ms | p95 ms | p99 ms | max ms |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of results) console.log(`| ${r.backend} | ${r.samples} | ${r.medianMs} | ${r.p95Ms} | ${r.p99Ms} | ${r.maxMs} |`);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/latency.json', JSON.stringify({ at: new Date().toISOString(), results }, null, 2));
process.exit(0);
