import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateOrderDocument, OrderConversationDocument } from './generated/graphql.js';
import { httpData } from './support/clients.js';
import { BACKENDS, startTestServer, type TestServer } from './support/server.js';
import { createWorld, message, person } from './support/world.js';

// conversation_has_member() answers "does this user take part" without listing the members; it must name
// exactly the people conversation_members() lists, for every conversation and every user.
describe.each(BACKENDS)('conversation membership on %s', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(backend);
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('names the same people as conversation_members() for direct, assigned, unassigned and admin-joined conversations', async () => {
    const world = await createWorld(t, 'member');
    const { customer, partner, admin, otherCustomer } = world.people;
    // A second user of the assigned partner, an admin who joined by writing, a customer's order nobody was assigned to.
    await person(t, 'member-partner-2', 'partner', { partnerId: partner.partnerId! });
    await message(t, admin, world.orderConversationId, 'Support here');
    const unassigned = await httpData(t.url, CreateOrderDocument, { input: { description: 'Paint the fence', totalCents: 5_000 } }, otherCustomer.token);
    await httpData(t.url, OrderConversationDocument, { orderId: unassigned.createOrder.id }, otherCustomer.token);
    const pairs = await t.sql<{ conversation: string; user_id: string; fast: boolean; listed: boolean }>(`
      select c.id::text as conversation, u.id as user_id,
             conversation_has_member(c.id, u.id) as fast,
             exists (select 1 from conversation_members(c.id) as m (user_id) where m.user_id = u.id) as listed
      from conversations c cross join users u
    `);
    expect(pairs.length).toBeGreaterThan(20);
    expect(pairs.filter((pair) => pair.fast !== pair.listed)).toEqual([]);
    const membersOf = (conversation: string) => pairs.filter((pair) => pair.conversation === conversation && pair.fast).map((pair) => pair.user_id).sort();
    expect(membersOf(world.orderConversationId)).toEqual([customer.id, partner.id, 'member-partner-2', admin.id].sort());
    expect(membersOf(world.directConversationId)).toEqual([customer.id, otherCustomer.id].sort());
    const [missing] = await t.sql<{ member: boolean }>(`select conversation_has_member(-1, $1) as member`, [customer.id]);
    expect(missing!.member).toBe(false);
  });
});
