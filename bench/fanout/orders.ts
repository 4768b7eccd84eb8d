import { AssignOrderDocument, CreateOrderDocument, MeDocument, UpdateOrderLocationDocument, UpdateOrderStatusDocument } from '../../test/generated/graphql.js';
import { httpData } from '../../test/support/clients.js';
import { token } from '../../test/support/server.js';
import type { Bench } from './bench.js';
import { connectLoad } from './load.js';
import { measure } from './measure.js';
import { inBatches } from './pacing.js';
import type { Row } from './row.js';
import { N, scenarios } from './settings.js';
import { ORDER_TRACKING } from './subscriptions.js';
import { unicastRows } from './unicast.js';

/** The partner's steps after assignment; a location update follows the order's status otherwise. */
const STATUS_STEPS = ['CONFIRMED', 'PICKED_UP', 'IN_PROGRESS', 'READY', 'OUT_FOR_DELIVERY'] as const;

/** ⌈N/100⌉ partners, each assigned every ⌈N/100⌉th of the N orders (one per customer). */
async function createOrders(bench: Bench) {
  const url = bench.server.url;
  const partners = Math.max(1, Math.round(N / 100));
  const partnerTokens = await Promise.all(
    Array.from({ length: partners }, (_, j) => token({ sub: `bench-partner-${j}`, role: 'partner', partner_id: `bench-p${j}` }, '2h')),
  );
  await Promise.all(partnerTokens.map((jwt) => httpData(url, MeDocument, {}, jwt)));
  const orderIds = await inBatches(N, 50, async (i) => {
    const { createOrder } = await httpData(url, CreateOrderDocument, { input: { description: `bench order ${i}`, totalCents: 2500 } }, bench.tokens[i]!);
    await httpData(url, AssignOrderDocument, { orderId: createOrder.id, partnerId: `bench-p${i % partners}` }, bench.admin);
    return createOrder.id;
  });
  return { partnerTokens, orderIds };
}

/** orders: N customers each watch their order while ⌈N/100⌉ partners post its status and location updates. */
export async function orderRows(bench: Bench): Promise<Row[]> {
  if (!scenarios.includes('orders')) return [];
  const { partnerTokens, orderIds } = await createOrders(bench);
  await bench.mutations.open(partnerTokens);
  const { load, bytesPerConnection } = await connectLoad(bench.wsUrl, 'graphql', bench.tokens, [ORDER_TRACKING], bench.pid, orderIds.map((orderId) => ({ orderId })));
  // Every subscription starts with its order's current state: all N have arrived once they are live.
  await measure(load, bench.pid, bench.mutations, N, 60_000, async () => {});
  // The status steps each order has taken. Its updates run one at a time (keyed by order), so the step an
  // update asks for is the one after the order's last answered one; a refused step is asked again next time.
  const steps = new Array<number>(N).fill(0);
  const orderOf = (i: number) => i % N;
  const update = async (i: number) => {
    const k = orderOf(i);
    const partner = partnerTokens[k % partnerTokens.length]!;
    const step = steps[k]!;
    if (i % 5 === 0 && step < STATUS_STEPS.length) {
      await bench.mutations.mutate(UpdateOrderStatusDocument, { orderId: orderIds[k]!, status: STATUS_STEPS[step]! }, partner);
      steps[k] = step + 1;
      return;
    }
    await bench.mutations.mutate(UpdateOrderLocationDocument, { orderId: orderIds[k]!, latitude: 52.5 + (i % 1000) / 10_000, longitude: 13.4 }, partner);
  };
  const rows = await unicastRows(bench, 'orders', load, bytesPerConnection, update, orderOf);
  load.send({ kind: 'close' });
  return rows;
}
