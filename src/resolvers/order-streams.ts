import type { Viewer } from '../auth/viewer.js';
import type { Db } from '../db/client.js';
import { orderLoaders } from '../db/orders.js';
import type { OrderRow } from '../db/types.js';
import type { EventStream } from '../pubsub/event-stream.js';
import type { OrderChanged, OutboxEvent, PartnerOutboxEvent } from '../pubsub/topics.js';
import type { PartnerEventValue } from '../schema/orders.js';
import { canSeeOrder, partiesOf } from './order-access.js';
import { closingWith, latestPerKey } from './streams.js';

/** Orders a board subscriber (orderUpdated without orderId) remembers having sent; older ones may be sent again. */
const MAX_TRACKED_ORDERS = 10_000;

export interface OrderChangesOptions {
  /** Already subscribed, so nothing committed after `current` was read is missed. */
  live: EventStream<OutboxEvent<OrderChanged>>;
  viewer: Viewer;
  db: Db;
  /** The state to send first (orderUpdated with an orderId); null sends changes only. */
  current: OrderRow | null;
}

/**
 * orderUpdated: the latest state of each changed order the viewer may see,
 * in order, each state once. Events that pile up while the subscriber is busy
 * fold into one read per order (location updates are frequent), and
 * visibility is checked per event on its own data, then on the row read.
 */
export function orderChanges({ live, viewer, db, current }: OrderChangesOptions): AsyncIterableIterator<OrderRow> {
  const batches = latestPerKey(live, (event) => event.payload.orderId);
  const loadOrder = orderLoaders(db).order;
  const sentVersions = new Map<string, number>();
  const sentVersion = (orderId: string) => sentVersions.get(orderId) ?? 0;
  const remember = (row: OrderRow) => {
    sentVersions.delete(row.id);
    sentVersions.set(row.id, Number(row.version));
    if (sentVersions.size > MAX_TRACKED_ORDERS) sentVersions.delete(sentVersions.keys().next().value!);
  };

  async function* run(): AsyncGenerator<OrderRow> {
    if (current) {
      remember(current);
      yield current;
    }
    for await (const batch of batches) {
      // No read for orders the viewer may not see, nor for states already sent
      // (an event committed just before `current` was read arrives after it).
      const wanted = batch.filter((event) => canSeeOrder(viewer, event.payload) && event.payload.version > sentVersion(event.payload.orderId));
      const rows = await Promise.all(wanted.map((event) => loadOrder(event.payload.orderId)));
      for (const row of rows) {
        // The row may be newer than its event, and it has the last word: a
        // partner unassigned since then gets nothing more.
        if (!row || !canSeeOrder(viewer, partiesOf(row)) || Number(row.version) <= sentVersion(row.id)) continue;
        remember(row);
        yield row;
      }
    }
  }
  return closingWith(run(), batches);
}

/** partnerEvent: the partner's assignment and earnings events, each once, in commit order. */
export function partnerEvents(live: EventStream<PartnerOutboxEvent>, db: Db): AsyncIterableIterator<PartnerEventValue> {
  const loadOrder = orderLoaders(db).order;
  async function* run(): AsyncGenerator<PartnerEventValue> {
    for await (const event of live) {
      const occurredAt = event.createdAt;
      switch (event.topic) {
        case 'order.unassigned':
          yield { kind: 'OrderUnassigned', occurredAt, orderId: event.payload.orderId };
          break;
        case 'order.assigned': {
          const order = await loadOrder(event.payload.orderId);
          if (order) yield { kind: 'OrderAssigned', occurredAt, order };
          break;
        }
        case 'earnings.created': {
          const order = await loadOrder(event.payload.orderId);
          if (order) yield { kind: 'EarningsUpdated', occurredAt, order, amountCents: event.payload.amountCents, totalCents: event.payload.totalCents };
          break;
        }
      }
    }
  }
  return closingWith(run(), live);
}
