import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NotificationPreferencesDocument,
  NotificationsDocument,
  SendNotificationDocument,
  SetNotificationPreferenceDocument,
} from './generated/graphql.js';
import { errorCode, httpData, httpRequest } from './support/clients.js';
import { BACKENDS, startTestServer, token, type TestServer } from './support/server.js';
import { newPeople } from './support/world.js';

const KINDS = ['ORDER_UPDATE', 'NEW_ORDER', 'MESSAGE', 'MENTION', 'PAYMENT', 'SYSTEM', 'GENERAL'];

describe.each(BACKENDS)('notification preferences on %s', (backend) => {
  let t: TestServer;
  let admin: string;
  const people = newPeople(() => t, 'pref');
  const newUser = people.customer;

  async function notificationCount(userId: string, kind?: string): Promise<number> {
    const [row] = await t.sql<{ count: number }>(
      'select count(*)::int as count from notifications where user_id = $1 and ($2::text is null or kind = $2)',
      [userId, kind ?? null],
    );
    return row!.count;
  }

  beforeAll(async () => {
    t = await startTestServer(backend);
    admin = await token({ sub: 'pref-admin', role: 'admin', name: 'Ada' });
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('lists every kind with the defaults before anything is set', async () => {
    const user = await newUser();
    const { notificationPreferences } = await httpData(t.url, NotificationPreferencesDocument, {}, user.token);
    expect(notificationPreferences.map((p) => p.kind).sort()).toEqual([...KINDS].sort());
    expect(notificationPreferences.every((p) => p.inApp && p.offline)).toBe(true);
  });

  it('changes one kind for one user; an argument left out keeps its value', async () => {
    const user = await newUser();
    const other = await newUser();
    const muted = await httpData(t.url, SetNotificationPreferenceDocument, { kind: 'GENERAL', inApp: false }, user.token);
    expect(muted.setNotificationPreference).toEqual({ kind: 'GENERAL', inApp: false, offline: true });
    const offline = await httpData(t.url, SetNotificationPreferenceDocument, { kind: 'GENERAL', offline: false }, user.token);
    expect(offline.setNotificationPreference).toEqual({ kind: 'GENERAL', inApp: false, offline: false });
    const unchanged = await httpData(t.url, SetNotificationPreferenceDocument, { kind: 'GENERAL' }, user.token);
    expect(unchanged.setNotificationPreference).toEqual({ kind: 'GENERAL', inApp: false, offline: false });
    const back = await httpData(t.url, SetNotificationPreferenceDocument, { kind: 'GENERAL', inApp: true }, user.token);
    expect(back.setNotificationPreference).toEqual({ kind: 'GENERAL', inApp: true, offline: false });

    const mine = (await httpData(t.url, NotificationPreferencesDocument, {}, user.token)).notificationPreferences;
    expect(mine.find((p) => p.kind === 'GENERAL')).toEqual({ kind: 'GENERAL', inApp: true, offline: false });
    expect(mine.filter((p) => p.kind !== 'GENERAL').every((p) => p.inApp && p.offline)).toBe(true);
    const theirs = (await httpData(t.url, NotificationPreferencesDocument, {}, other.token)).notificationPreferences;
    expect(theirs.every((p) => p.inApp && p.offline)).toBe(true);
  });

  it('keeps sendNotification of a muted kind from the user, except URGENT; plain SQL inserts are always created', async () => {
    const muter = await newUser();
    const listener = await newUser();
    await httpData(t.url, SetNotificationPreferenceDocument, { kind: 'SYSTEM', inApp: false }, muter.token);
    const normal = await httpData(
      t.url,
      SendNotificationDocument,
      { input: { userIds: [muter.id, listener.id], kind: 'SYSTEM', title: 'Maintenance', body: 'tonight' } },
      admin,
    );
    expect(normal.sendNotification).toBe(1);
    expect(await notificationCount(muter.id)).toBe(0);
    expect(await notificationCount(listener.id)).toBe(1);
    // Another kind still arrives.
    await httpData(t.url, SendNotificationDocument, { input: { userIds: [muter.id], kind: 'GENERAL', title: 'Hi', body: '' } }, admin);
    expect(await notificationCount(muter.id, 'GENERAL')).toBe(1);
    const urgent = await httpData(
      t.url,
      SendNotificationDocument,
      { input: { userIds: [muter.id], kind: 'SYSTEM', priority: 'URGENT', title: 'Outage', body: 'now' } },
      admin,
    );
    expect(urgent.sendNotification).toBe(1);
    const page = await httpData(t.url, NotificationsDocument, {}, muter.token);
    expect(page.notifications.edges.map((edge) => [edge.node.title, edge.node.priority])).toEqual([
      ['Outage', 'URGENT'],
      ['Hi', 'NORMAL'],
    ]);
    await t.sql(`insert into notifications (user_id, kind, title) values ($1, 'SYSTEM', 'written by hand')`, [muter.id]);
    expect(await notificationCount(muter.id, 'SYSTEM')).toBe(2);
  });

  it('answers each of many concurrent one-recipient sendNotifications on its own (they share statements)', async () => {
    const muter = await newUser();
    const listener = await newUser();
    await httpData(t.url, SetNotificationPreferenceDocument, { kind: 'SYSTEM', inApp: false }, muter.token);
    const sends = Array.from({ length: 60 }, (_, i) => {
      const to = i % 3 === 0 ? listener : muter;
      const priority = i % 3 === 2 ? ('URGENT' as const) : ('NORMAL' as const);
      const data = { i, quote: `"${i}" \\ {}` };
      return { expected: to === listener || priority === 'URGENT' ? 1 : 0, input: { userIds: [to.id], kind: 'SYSTEM' as const, priority, title: `n${i}`, body: '', data } };
    });
    const answers = await Promise.all(sends.map((send) => httpData(t.url, SendNotificationDocument, { input: send.input }, admin)));
    expect(answers.map((answer) => answer.sendNotification)).toEqual(sends.map((send) => send.expected));
    const stored = await t.sql<{ user_id: string; title: string; data: { i: number; quote: string } }>(
      'select user_id, title, data from notifications where user_id in ($1, $2) order by id',
      [muter.id, listener.id],
    );
    expect(stored.map((row) => row.title).sort()).toEqual(sends.filter((send) => send.expected === 1).map((send) => send.input.title).sort());
    expect(stored.every((row) => row.data.quote === `"${row.data.i}" \\ {}` && row.title === `n${row.data.i}`)).toBe(true);
  });

  it("keeps the system's own order notifications of a muted kind from the user (the SQL triggers read the preference)", async () => {
    const customer = await newUser();
    const partner = await people.partner();
    await httpData(t.url, SetNotificationPreferenceDocument, { kind: 'ORDER_UPDATE', inApp: false }, customer.token);
    await httpData(t.url, SetNotificationPreferenceDocument, { kind: 'NEW_ORDER', inApp: false }, partner.token);
    const [order] = await t.sql<{ id: string }>(
      `insert into orders (customer_id, description, total_cents) values ($1, 'Fix the sink', 5000) returning id::text`,
      [customer.id],
    );
    await t.sql('update orders set partner_id = $2 where id = $1', [order!.id, partner.partnerId]);
    await t.sql(`update orders set status = 'CONFIRMED' where id = $1`, [order!.id]);
    expect(await notificationCount(customer.id, 'ORDER_UPDATE')).toBe(0);
    expect(await notificationCount(partner.id, 'NEW_ORDER')).toBe(0);
    // The same changes for users who did not mute them do notify: the check is per user and kind.
    const listener = await newUser();
    const [second] = await t.sql<{ id: string }>(
      `insert into orders (customer_id, description, total_cents) values ($1, 'Paint', 100) returning id::text`,
      [listener.id],
    );
    await t.sql(`update orders set status = 'CONFIRMED' where id = $1`, [second!.id]);
    expect(await notificationCount(listener.id, 'ORDER_UPDATE')).toBeGreaterThan(0);
  });

  it("keeps the system's MESSAGE notifications of a muted kind from the user, also for a message written in plain SQL", async () => {
    const sender = await newUser();
    const muter = await newUser();
    const listener = await newUser();
    await httpData(t.url, SetNotificationPreferenceDocument, { kind: 'MESSAGE', inApp: false }, muter.token);
    for (const other of [muter, listener]) {
      const [conversation] = await t.sql<{ id: string }>(
        `insert into conversations (kind, direct_user_low, direct_user_high) values ('DIRECT', least($1, $2), greatest($1, $2)) returning id::text`,
        [sender.id, other.id],
      );
      await t.sql(`insert into messages (conversation_id, sender_id, body) values ($1, $2, 'hello there')`, [conversation!.id, sender.id]);
    }
    expect(await notificationCount(muter.id, 'MESSAGE')).toBe(0);
    expect(await notificationCount(listener.id, 'MESSAGE')).toBe(1);
  });

  it('rejects an unknown kind and anonymous callers', async () => {
    const user = await newUser();
    const unknown = await httpRequest(t.url, SetNotificationPreferenceDocument, { kind: 'SPAM' as 'GENERAL', inApp: false }, user.token);
    // Refused while coercing variables, before any resolver runs (Yoga answers 400 and names the enum).
    expect(unknown.data ?? null).toBeNull();
    expect(unknown.errors?.[0]?.message).toContain('NotificationKind');
    const [row] = await t.sql<{ count: number }>('select count(*)::int as count from notification_preferences where user_id = $1', [user.id]);
    expect(row!.count).toBe(0);
    expect(errorCode(await httpRequest(t.url, NotificationPreferencesDocument, {}, null))).toBe('UNAUTHENTICATED');
    expect(errorCode(await httpRequest(t.url, SetNotificationPreferenceDocument, { kind: 'GENERAL', inApp: false }, null))).toBe('UNAUTHENTICATED');
  });
});
