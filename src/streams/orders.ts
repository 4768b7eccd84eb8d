import type { Viewer } from '../auth/viewer.js';
import type { Db } from '../db/client.js';
import { perDatabase } from '../db/batch.js';
import { orderLoaders } from '../db/orders.js';
import type { OrderRow } from '../db/types.js';
import type { EventStream } from '../pubsub/event-stream.js';
import type { OrderChanged, OutboxEvent, PartnerOutboxEvent } from '../pubsub/topics.js';
import type { PartnerEventValue } from '../schema/orders.js';
import { canSeeOrder } from '../schema/order-access.js';
import { latestPerKey, leanStream } from './lean.js';
import { perEvent } from './per-event.js';

/** Orders a board subscriber (orderUpdated without orderId) remembers having sent; older ones may be sent again. */
const MAX_TRACKED_ORDERS = 10_000;

/**
 * The order as its event saw it: the event carries the small fields that
 * change (status, partner, location, times), the row the rest. The row may
 * have moved on since; the event's own state is what this change was.
 */
export function orderAsOf(row: OrderRow, change: OrderChanged): OrderRow {
  if (Number(row.version) === change.version) return row;
  // Every subscriber of this process reads the same event and, in one batch, the same row: one state object for all of them.
  const known = statesAsOf.get(change);
  if (known?.row === row) return known.state;
  const state: OrderRow = {
    ...row,
    customer_id: change.customerId,
    partner_id: change.partnerId,
    status: change.status,
    version: String(change.version),
    last_latitude: change.latitude,
    last_longitude: change.longitude,
    last_location_at: change.locationAt === null ? null : new Date(change.locationAt),
    updated_at: new Date(change.updatedAt),
  };
  statesAsOf.set(change, { row, state });
  return state;
}

const statesAsOf = new WeakMap<OrderChanged, { row: OrderRow; state: OrderRow }>();

/** Status changes are few (the machine bounds them) and every subscriber sees each; other changes fold into the next one. */
const isStatusChange = (event: OutboxEvent<OrderChanged>) => event.payload.previousStatus !== undefined;

export interface OrderChangesOptions {
  /** Already subscribed, so nothing committed after `current` was read is missed. */
  live: EventStream<OutboxEvent<OrderChanged>>;
  viewer: Viewer;
  db: Db;
  /** The state to send first (orderUpdated with an orderId); null sends changes only. */
  current: OrderRow | null;
}

/**
 * orderUpdated: every change of the orders the viewer may see, in order,
 * each state once. When changes pile up while the subscriber is busy, its
 * status changes all stay and the rest (location updates are frequent) fold
 * into the latest; what is pending costs one batched read of the rows.
 * Visibility is decided per event on the event's own data: a partner that
 * loses the order gets nothing from the change that took it away.
 */
export function orderChanges({ live, viewer, db, current }: OrderChangesOptions): AsyncIterableIterator<OrderRow> {
  const batches = latestPerKey(live, (event) => event.payload.orderId, { keep: isStatusChange });
  const loadOrder = orderLoaders(db).order;
  const sentVersions = new Map<string, number>();
  const sentVersion = (orderId: string) => sentVersions.get(orderId) ?? 0;
  const remember = (orderId: string, version: number) => {
    sentVersions.delete(orderId);
    sentVersions.set(orderId, version);
    if (sentVersions.size > MAX_TRACKED_ORDERS) sentVersions.delete(sentVersions.keys().next().value!);
  };

  // States ready to send, in order: a batch of events may yield several.
  const ready: OrderRow[] = [];
  if (current) {
    remember(current.id, Number(current.version));
    ready.push(current);
  }
  const pull = (): Promise<IteratorResult<OrderRow>> => {
    const state = ready.shift();
    if (state) return Promise.resolve({ done: false, value: state });
    return batches.next().then(fromBatch);
  };
  const fromBatch = (step: IteratorResult<OutboxEvent<OrderChanged>[]>): IteratorResult<OrderRow> | Promise<IteratorResult<OrderRow>> => {
    if (step.done) return { done: true, value: undefined };
    // No read for orders the viewer may not see, nor for states already sent
    // (an event committed just before `current` was read arrives after it).
    const wanted = step.value.filter((event) => canSeeOrder(viewer, event.payload) && event.payload.version > sentVersion(event.payload.orderId));
    return Promise.all(wanted.map((event) => loadOrder(event.payload.orderId))).then((rows) => {
      for (const [index, event] of wanted.entries()) {
        const row = rows[index];
        if (!row || event.payload.version <= sentVersion(row.id)) continue;
        remember(row.id, event.payload.version);
        ready.push(orderAsOf(row, event.payload));
      }
      return pull();
    });
  };
  return leanStream(pull, () => batches.return());
}

/** partnerEvent: the partner's assignment and earnings events, each once, in commit order. */
export function partnerEvents(live: EventStream<PartnerOutboxEvent>, db: Db): AsyncIterableIterator<PartnerEventValue> {
  const valueOf = partnerEventValues(db);
  const fromLive = (step: IteratorResult<PartnerOutboxEvent>): IteratorResult<PartnerEventValue> | Promise<IteratorResult<PartnerEventValue>> =>
    step.done ? { done: true, value: undefined } : valueOf(step.value).then((value) => (value ? { done: false, value } : live.next().then(fromLive)));
  return leanStream(() => live.next().then(fromLive), () => live.return());
}

/** The value of a partner event, built once per event for all of the partner's subscribers (null: the order is gone). */
const partnerEventValues = perDatabase((db) => {
  const loadOrder = orderLoaders(db).order;
  return perEvent(async (event: PartnerOutboxEvent): Promise<PartnerEventValue | null> => {
    const occurredAt = event.createdAt;
    switch (event.topic) {
      case 'order.unassigned':
        return { kind: 'OrderUnassigned', occurredAt, orderId: event.payload.orderId };
      case 'order.assigned': {
        const order = await loadOrder(event.payload.orderId);
        return order ? { kind: 'OrderAssigned', occurredAt, order } : null;
      }
      case 'earnings.created': {
        const order = await loadOrder(event.payload.orderId);
        return order ? { kind: 'EarningsUpdated', occurredAt, order, amountCents: event.payload.amountCents, totalCents: event.payload.totalCents } : null;
      }
    }
  });
});
