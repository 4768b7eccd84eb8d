import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { buildSchema, getNamedType, isInputObjectType, type GraphQLField, type GraphQLInputType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { SendNotificationDocument, UnreadCountChangedDocument } from './generated/graphql.js';
import { httpData, wsConnect, type GraphQLErrorShape, type WsConnection } from './support/clients.js';
import { eventually } from './support/deferred.js';
import { anyJson, breakers, DeepList, literal, selectionOf, text, toJson, valueOf, type Anchors } from './support/fuzz-values.js';
import { bearer, rawConnect, type RawSocket, type WireMessage } from './support/raw-ws.js';
import { BACKENDS, startTestServer, type TestServer } from './support/server.js';
import { snapshot } from './support/snapshot.js';
import { createAssignedOrder, createWorld, person, ROLES, type Person, type Role, type World } from './support/world.js';

/*
 * Property-based input fuzzing (fast-check): every mutation argument of the
 * schema gets random text and unicode (NUL, lone surrogates, RTL marks),
 * huge, negative and fractional numbers, nulls and values of the wrong type,
 * as variables and as inline literals; raw graphql-ws frames get the same.
 * For every call: a contract answer, never a 5xx or a masked internal error,
 * and nothing stored unless the call succeeded.
 *
 * Reproduce a failure with FUZZ_SEED=<the logged seed>; FUZZ_RUNS scales the
 * number of runs per property.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_122);
const RUNS = Number(process.env.FUZZ_RUNS ?? 45);
const FRAME_RUNS = Number(process.env.FUZZ_FRAME_RUNS ?? 200);

const SCHEMA = buildSchema(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));
const MUTATION_FIELDS = SCHEMA.getMutationType()!.getFields();
const SUBSCRIPTION_FIELDS = SCHEMA.getSubscriptionType()!.getFields();
const QUERY_FIELDS = SCHEMA.getQueryType()!.getFields();

/** HTTP 200: errors of a field (resolvers, scope auth, rate limits). */
const FIELD_ERROR_CODES = ['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT', 'RATE_LIMITED'];
/**
 * HTTP 400: the request itself. Yoga's codes for a document that does not
 * parse or validate, a malformed request (`variables` not an object, no
 * query) and an `operationName` the document does not have; BAD_USER_INPUT
 * (naming the variable) for a variable that does not fit its type.
 */
const REQUEST_ERROR_CODES = ['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'BAD_REQUEST', 'OPERATION_RESOLUTION_FAILURE'];
/** What one operation over graphql-ws may answer with (its `error` or `next` message). */
const OPERATION_ERROR_CODES = [...new Set([...FIELD_ERROR_CODES, ...REQUEST_ERROR_CODES])];
/** CONTRACT.md "WebSocket close codes" a client can cause by what it sends. */
const CLIENT_CLOSE_CODES = [4400, 4401, 4403, 4408, 4409, 4429, 1009];

/** Documents that strain the parser and the validation rules: nesting, size, aliases, fragments. */
const HOSTILE_DOCUMENTS = [
  `{ ${'me { '.repeat(3000)}${'}'.repeat(3000)} }`,
  `mutation { markRead(ids: ${'['.repeat(1500)}${']'.repeat(1500)}) { unreadCount } }`,
  `mutation { setTyping(conversationId: "1", typing: ${'['.repeat(3000)}${']'.repeat(3000)}) }`,
  `{ ${Array.from({ length: 300 }, (_, i) => `a${i}: me { id }`).join(' ')} }`,
  `query { ...F } fragment F on Query { ...F }`,
  `{ me { id } } { me { id } }`,
  `subscription { notificationAdded { id } unreadCountChanged }`,
  `mutation { markRead(ids: "${'9'.repeat(5000)}") { unreadCount } }`,
];

interface MutationFuzz {
  /** Who calls it most of the time (the fuzz also tries every other role). */
  callers: Role[];
  /** Known-good values by argument path, so the fuzz gets past the id checks. */
  anchors: (world: World) => Anchors;
  /** A call that succeeds (as callers[0]): half the cases fuzz one argument of it, so hostile values reach the code that stores them. */
  valid: (world: World) => Record<string, unknown>;
  /** For a call that succeeded: what was sent is what was stored. */
  stored?: (args: Record<string, unknown>, data: Record<string, unknown>) => void;
}

const orderIds = (w: World) => [w.orderId, ...extraOrders];
const conversationIds = (w: World) => [w.orderConversationId, w.directConversationId];
const messageIds = (w: World) => [...w.orderMessageIds, ...w.directMessageIds];
const userIds = (w: World) => Object.values(w.people).map((p) => p.id);
const partnerIds = (w: World) => [w.people.partner.partnerId!, w.people.otherPartner.partnerId!];
/** Orders of the world's customer assigned to its partner besides `orderId`: two for status fuzzing (so it does not finish them all at once), one for assignOrder. */
let extraOrders: string[] = [];

const trimmed = (value: unknown) => (typeof value === 'string' ? value.trim() : value);

/**
 * One row per mutation of the schema: the test below fails for a mutation
 * without one, so new mutations get fuzzed. The arguments themselves come from
 * the schema: every argument of every row is fuzzed by its type.
 */
const MUTATIONS: Record<string, MutationFuzz> = {
  markRead: { callers: ['customer'], anchors: (w) => ({ ids: [...w.notificationIds, ...w.otherNotificationIds] }), valid: (w) => ({ ids: w.notificationIds }) },
  markAllRead: { callers: ['customer', 'partner'], anchors: () => ({}), valid: () => ({}) },
  sendNotification: {
    callers: ['admin'],
    anchors: (w) => ({ 'input.userIds': userIds(w) }),
    valid: (w) => ({ input: { userIds: [w.people.customer.id], kind: 'SYSTEM', priority: 'URGENT', title: 'Fuzz', body: 'Body', data: { a: [1, 'b'] } } }),
  },
  createOrder: {
    callers: ['customer', 'admin'],
    anchors: () => ({ 'input.description': ['Paint the fence'], 'input.totalCents': [0, 1, 12_345, 10_000_000] }),
    valid: () => ({ input: { description: 'Paint the fence', totalCents: 12_345 } }),
    stored: (args, data) => {
      const input = args['input'] as Record<string, unknown>;
      expect(data).toMatchObject({ description: trimmed(input['description']), totalCents: input['totalCents'] });
    },
  },
  assignOrder: {
    callers: ['admin'],
    // An order of its own: reassigning the others would take them from the partner the other rows call as.
    anchors: (w) => ({ orderId: [extraOrders[2]!], partnerId: partnerIds(w) }),
    valid: (w) => ({ orderId: extraOrders[2], partnerId: w.people.partner.partnerId }),
  },
  updateOrderStatus: {
    callers: ['partner', 'admin', 'customer'],
    anchors: (w) => ({ orderId: orderIds(w) }),
    valid: () => ({ orderId: extraOrders[0], status: 'CONFIRMED', note: 'On my way' }),
    stored: (args, data) => expect(data['status']).toBe(args['status']),
  },
  updateOrderLocation: {
    callers: ['partner'],
    anchors: (w) => ({ orderId: orderIds(w), latitude: [48.85], longitude: [2.35] }),
    valid: (w) => ({ orderId: w.orderId, latitude: 48.85, longitude: 2.35 }),
  },
  openDirectConversation: { callers: ['customer', 'partner'], anchors: (w) => ({ userId: userIds(w) }), valid: (w) => ({ userId: w.people.otherCustomer.id }) },
  orderConversation: { callers: ['customer', 'partner', 'admin'], anchors: (w) => ({ orderId: orderIds(w) }), valid: (w) => ({ orderId: w.orderId }) },
  sendMessage: {
    callers: ['customer', 'otherCustomer'],
    anchors: (w) => ({ 'input.conversationId': conversationIds(w), 'input.replyToId': messageIds(w), 'input.body': ['Hello there'] }),
    valid: (w) => ({ input: { conversationId: w.directConversationId, body: 'Hello there', replyToId: w.directMessageIds[0] } }),
    stored: (args, data) => {
      const input = args['input'] as Record<string, unknown>;
      expect(data['body']).toBe(trimmed(input['body']));
      expect(data['conversationId']).toBe(String(input['conversationId']));
    },
  },
  markConversationRead: {
    callers: ['customer', 'otherCustomer'],
    anchors: (w) => ({ conversationId: conversationIds(w), messageId: messageIds(w) }),
    valid: (w) => ({ conversationId: w.directConversationId, messageId: w.directMessageIds[0] }),
  },
  setTyping: {
    callers: ['customer', 'partner'],
    anchors: (w) => ({ conversationId: conversationIds(w) }),
    valid: (w) => ({ conversationId: w.directConversationId, typing: true }),
  },
  setNotificationPreference: {
    callers: ['customer'],
    anchors: () => ({}),
    valid: () => ({ kind: 'SYSTEM', inApp: true, offline: false }),
    stored: (args, data) => {
      expect(data['kind']).toBe(args['kind']);
      for (const flag of ['inApp', 'offline']) if (typeof args[flag] === 'boolean') expect(data[flag]).toBe(args[flag]);
    },
  },
};

/** Every argument of a field, and every field of an input object argument, with its type. */
function argumentPaths(field: GraphQLField<unknown, unknown>): { path: string[]; type: GraphQLInputType }[] {
  return field.args.flatMap((arg) => {
    const named = getNamedType(arg.type);
    const own = { path: [arg.name], type: arg.type };
    if (!isInputObjectType(named)) return [own];
    return [own, ...Object.values(named.getFields()).map((input) => ({ path: [arg.name, input.name], type: input.type }))];
  });
}

/** A copy of `args` with the value at `path` replaced (left out when undefined). */
function withValue(args: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  const copy = { ...args };
  if (rest.length === 0) copy[head!] = value;
  else copy[head!] = withValue((args[head!] as Record<string, unknown> | undefined) ?? {}, rest, value);
  if (copy[head!] === undefined) delete copy[head!];
  return copy;
}

interface Call {
  caller: Role;
  args: (unknown | undefined)[];
  /** Arguments inline in the document instead of as variables. */
  inline: boolean;
}

interface Answer {
  status: number;
  body: Result | Result[];
}

function operationOf(field: GraphQLField<unknown, unknown>, call: Call): { query: string; variables: Record<string, unknown> } {
  const present = field.args.map((arg, index) => ({ arg, value: call.args[index] })).filter(({ value }) => value !== undefined);
  const selection = selectionOf(field);
  if (call.inline) {
    const args = present.map(({ arg, value }) => `${arg.name}: ${literal(value, arg.type)}`).join(', ');
    return { query: `mutation Fuzz { ${field.name}${args ? `(${args})` : ''} ${selection} }`, variables: {} };
  }
  const definitions = present.map(({ arg }) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const args = present.map(({ arg }) => `${arg.name}: $${arg.name}`).join(', ');
  return {
    query: `mutation Fuzz${definitions ? `(${definitions})` : ''} { ${field.name}${args ? `(${args})` : ''} ${selection} }`,
    variables: Object.fromEntries(present.map(({ arg, value }) => [arg.name, value])),
  };
}

async function post(url: string, body: unknown, jwt: string | null): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(jwt ? { authorization: `Bearer ${jwt}` } : {}),
    },
    body: toJson(body),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

type Result = { data?: Record<string, unknown> | null; errors?: GraphQLErrorShape[] };

/** One GraphQL result checked against the contract; true when the call succeeded. */
function expectContractResult(result: Result, status: number | 'batched', field: string): boolean {
  const errors = result.errors ?? [];
  for (const error of errors) {
    const code = error.extensions?.['code'];
    const allowed = status === 200 ? FIELD_ERROR_CODES : status === 'batched' ? [...FIELD_ERROR_CODES, ...REQUEST_ERROR_CODES] : REQUEST_ERROR_CODES;
    expect(allowed, `HTTP ${status} with ${JSON.stringify(error).slice(0, 500)}`).toContain(code);
    if (code === 'BAD_USER_INPUT') expect(typeof error.extensions?.['field'], `unnamed field: ${error.message}`).toBe('string');
    if (code === 'RATE_LIMITED') expect(typeof error.extensions?.['retryAfterMs']).toBe('number');
    expect(error.extensions?.['stacktrace']).toBeUndefined();
  }
  if (status !== 200 && status !== 'batched') {
    // A request error: nothing ran.
    expect(errors.length).toBeGreaterThan(0);
    expect(result.data).toBeUndefined();
    return false;
  }
  if (errors.length > 0) {
    expect(result.data ?? null).toBeNull();
    return false;
  }
  expect(result.data, JSON.stringify(result)).toBeDefined();
  if (status === 200) expect(result.data?.[field], JSON.stringify(result)).toBeDefined();
  return true;
}

/**
 * The whole answer: HTTP 200 (field errors, or success), 400 (the request:
 * parse, validation, variable coercion, malformed parameters), never 5xx; a
 * JSON array (200) for a batch, and 413 for a batch past BATCH_LIMIT.
 * True when everything in it succeeded.
 */
function expectContractAnswer(answer: Answer, field: string): boolean {
  const { status, body } = answer;
  const statuses = Array.isArray(body) ? [200] : [200, 400, 413];
  expect(statuses, `HTTP ${status}: ${JSON.stringify(body).slice(0, 500)}`).toContain(status);
  if (Array.isArray(body)) return body.map((result: Result) => expectContractResult(result, 'batched', field)).every(Boolean);
  if (status === 413) {
    expect(body.errors?.map((error) => error.extensions?.['code'])).toEqual(['BAD_REQUEST']);
    return false;
  }
  return expectContractResult(body, status, field);
}

/** A graphql-ws frame as a hostile client may send it, with what the server must answer when that is certain. */
interface Frame {
  kind: string;
  data: string | Buffer;
  binary: boolean;
  /** The close code this frame must cause; undefined: any contract code, or none. */
  closes?: number;
  /** A well-formed operation whose answer (if any) must carry contract codes, and that must not close the connection once acknowledged. */
  operationId?: string;
}

const PROBE_ID = 'probe-after-fuzz';

describe.each(BACKENDS)('input fuzz on %s', (backend) => {
  let t: TestServer;
  let world: World;
  /** graphql-ws fuzz users, taken in turn, so the per-user connection cap never bites between cases. */
  let socketUsers: Person[] = [];
  const clients: WsConnection[] = [];
  let calls = 0;
  let refused = 0;
  let frames = 0;
  /** Successful calls per mutation: how deep the fuzz got past validation. */
  const successes = new Map<string, number>();

  beforeAll(async () => {
    t = await startTestServer(backend);
    world = await createWorld(t, 'fz');
    const { customer, partner, admin } = world.people;
    extraOrders = [
      await createAssignedOrder(t, customer, partner, admin, 'Second order'),
      await createAssignedOrder(t, customer, partner, admin, 'Third order'),
      await createAssignedOrder(t, customer, partner, admin, 'Order to reassign'),
    ];
    socketUsers = await Promise.all([1, 2, 3, 4].map((n) => person(t, `fz-socket-${n}`, 'customer')));
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    // The note on issue 6 quotes these numbers.
    const depth = [...successes].map(([name, count]) => `${name} ${count}`).join(', ');
    console.log(`[fuzz] ${backend}: ${calls} HTTP calls (${refused} refused, ${calls - refused} succeeded: ${depth}) and ${frames} graphql-ws frames; seed ${SEED}`);
    await t?.stop();
  });

  it('has a fuzz row for every mutation of the schema, and no row for a mutation that is gone', () => {
    expect(Object.keys(MUTATIONS).sort()).toEqual(Object.keys(MUTATION_FIELDS).sort());
  });

  it.each(Object.keys(MUTATION_FIELDS).sort())('%s: every argument fuzzed, a contract answer and no stored change unless it succeeded', async (name) => {
    const field = MUTATION_FIELDS[name]!;
    const row = MUTATIONS[name];
    expect(row, `no fuzz row for the mutation ${name}`).toBeDefined();
    const anchors = row!.anchors(world);
    // One call in four with inline literals.
    const inline = fc.integer({ min: 0, max: 3 }).map((n) => n === 0);
    const anyCall = fc.record({
      caller: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...row!.callers) }, { weight: 1, arbitrary: fc.constantFrom(...ROLES) }),
      args: fc.tuple(...field.args.map((arg) => valueOf(arg.type, arg.name, anchors))),
      inline,
    });
    // The known-good call with one argument (or one field of an input) fuzzed.
    const valid = row!.valid(world);
    const oneBadArgument = () =>
      fc.record({
        caller: fc.constant(row!.callers[0]!),
        args: fc.oneof(
          ...argumentPaths(field).map(({ path, type }) =>
            valueOf(type, path.join('.'), anchors).map((value) => {
              const args = withValue(valid, path, value);
              return field.args.map((arg) => args[arg.name]);
            }),
          ),
        ),
        inline,
      });
    const call = field.args.length === 0 ? anyCall : fc.oneof(anyCall, oneBadArgument());
    // Each known breaker in each text and JSON argument of the known-good call, as variables and inline.
    const examples: [Call][] = argumentPaths(field).flatMap(({ path, type }) =>
      breakers(type).flatMap((value) => {
        const args = withValue(valid, path, value);
        return [false, true].map((inlined): [Call] => [{ caller: row!.callers[0]!, args: field.args.map((arg) => args[arg.name]), inline: inlined }]);
      }),
    );
    const seed = SEED + name.length * 7919 + name.charCodeAt(0);
    await fc.assert(
      fc.asyncProperty(call, async (c: Call) => {
        calls += 1;
        const before = await snapshot(t);
        const answer = await post(t.url, operationOf(field, c), world.tokenOf(c.caller));
        const succeeded = expectContractAnswer(answer, name);
        if (!succeeded) {
          refused += 1;
          expect(await snapshot(t), `a refused ${name} changed stored rows`).toEqual(before);
          return;
        }
        successes.set(name, (successes.get(name) ?? 0) + 1);
        const data = (answer.body as Result).data![name];
        if (row!.stored && typeof data === 'object' && data !== null) {
          const args = Object.fromEntries(field.args.map((arg, index) => [arg.name, c.args[index]]));
          row!.stored(args, data as Record<string, unknown>);
        }
      }),
      { numRuns: RUNS, seed, examples },
    );
  });

  it('answers malformed request envelopes (variables, operationName, query of the wrong type) with 400 and a code', async () => {
    const mutation = 'mutation($ids: [ID!]!) { markRead(ids: $ids) { unreadCount } }';
    const envelope = fc.oneof(
      fc.record({ query: fc.oneof(fc.constant(mutation), anyJson, text, fc.constantFrom(...HOSTILE_DOCUMENTS)), variables: anyJson, operationName: fc.oneof(anyJson, text) }, { requiredKeys: [] }),
      anyJson,
    );
    await fc.assert(
      fc.asyncProperty(envelope, async (body) => {
        calls += 1;
        const before = await snapshot(t);
        const answer = await post(t.url, body, world.people.customer.token);
        if (!expectContractAnswer(answer, 'markRead')) {
          refused += 1;
          expect(await snapshot(t)).toEqual(before);
        }
      }),
      { numRuns: RUNS * 2, seed: SEED + 1, examples: HOSTILE_DOCUMENTS.map((query): [unknown] => [{ query }]) },
    );
  });

  describe('raw graphql-ws frames', () => {
    const opened: RawSocket[] = [];
    let turn = 0;

    afterAll(() => {
      for (const socket of opened) socket.close();
    });

    function operationFrame(fields: Record<string, GraphQLField<unknown, unknown>>, kind: 'subscription' | 'query'): fc.Arbitrary<{ query: string; variables: Record<string, unknown> }> {
      return fc.constantFrom(...Object.values(fields)).chain((field) => {
        const anchors: Anchors = {
          orderId: orderIds(world),
          conversationId: conversationIds(world),
          id: [...orderIds(world), ...conversationIds(world)],
          userIds: userIds(world),
          since: messageIds(world),
        };
        return fc.tuple(...field.args.map((arg) => valueOf(arg.type, arg.name, anchors))).map((values) => {
          const present = field.args.map((arg, index) => ({ arg, value: values[index] })).filter(({ value }) => value !== undefined);
          const definitions = present.map(({ arg }) => `$${arg.name}: ${String(arg.type)}`).join(', ');
          const args = present.map(({ arg }) => `${arg.name}: $${arg.name}`).join(', ');
          return {
            query: `${kind} Fuzz${definitions ? `(${definitions})` : ''} { ${field.name}${args ? `(${args})` : ''} ${selectionOf(field)} }`,
            variables: Object.fromEntries(present.map(({ arg, value }) => [arg.name, value])),
          };
        });
      });
    }

    const frameArb = (): fc.Arbitrary<Frame> => {
      const operationId = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((id) => id !== PROBE_ID);
      const operation = fc.tuple(operationId, fc.oneof(operationFrame(SUBSCRIPTION_FIELDS, 'subscription'), operationFrame(QUERY_FIELDS, 'query')));
      const knownType = fc.constantFrom('connection_init', 'connection_ack', 'ping', 'pong', 'subscribe', 'next', 'error', 'complete');
      const anyId = fc.oneof(
        text,
        fc.integer(),
        fc.constantFrom(2 ** 53 + 1, 1e308, -1, 0, null, true, {}, []),
        fc.constant('9'.repeat(300)),
        fc.constant(undefined),
      );
      return fc.oneof(
        // Not JSON at all.
        fc.string({ maxLength: 40 }).map((s) => ({ kind: 'not-json', data: `{${s}`, binary: false, closes: 4400 })),
        // JSON, but not a message: any value, any shape.
        anyJson.map((value) => ({ kind: 'json', data: toJson(value), binary: false })),
        // A message with fuzzed fields: known and unknown types, ids of every type and size, any payload.
        fc
          .record({ type: fc.oneof(knownType, text), id: anyId, payload: fc.oneof(anyJson, fc.constant(undefined)) }, { requiredKeys: ['type'] })
          .map((message) => ({ kind: 'message', data: toJson(message), binary: false })),
        // A well-formed subscribe with schema-fuzzed variables.
        operation.map(([id, payload]) => ({ kind: 'operation', data: toJson({ id, type: 'subscribe', payload }), binary: false, operationId: id })),
        // A subscribe whose payload fields have the wrong types.
        fc
          .record({ id: operationId, query: fc.oneof(text, anyJson), variables: anyJson, operationName: fc.oneof(anyJson, text) })
          .map(({ id, ...payload }) => ({ kind: 'bad-payload', data: toJson({ id, type: 'subscribe', payload }), binary: false })),
        // Binary frames: random bytes, and a well-formed ping sent as binary.
        fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ kind: 'binary', data: Buffer.from(bytes), binary: true, closes: 4400 })),
        fc.constant({ kind: 'binary-ping', data: Buffer.from(JSON.stringify({ type: 'ping' })), binary: true }),
        // Past WS_MAX_PAYLOAD_BYTES (64 KiB), as text and as binary.
        fc.constantFrom(64 * 1024 + 1, 200 * 1024).chain((size) =>
          fc.boolean().map((binary) => {
            const data = JSON.stringify({ type: 'ping', payload: { padding: 'x'.repeat(size) } });
            return { kind: 'oversize', data: binary ? Buffer.from(data) : data, binary, closes: 1009 };
          }),
        ),
      );
    };

    /** Waits until `answered` matches a message, or the socket closes; never both silent. */
    async function outcome(socket: RawSocket, answered: (message: WireMessage) => boolean, seen: WireMessage[]): Promise<{ closed?: number; answer?: WireMessage }> {
      for (;;) {
        let message: WireMessage;
        try {
          message = await socket.next(undefined, 10_000);
        } catch (error) {
          if (socket.socket.readyState === WebSocket.CLOSED || socket.socket.readyState === WebSocket.CLOSING) return { closed: (await socket.closed).code };
          throw error;
        }
        seen.push(message);
        if (answered(message)) return { answer: message };
      }
    }

    it('closes with a contract code or answers properly, before and after connection_init, and the server stays healthy', async () => {
      const cases = fc.record({ acknowledged: fc.boolean(), frame: frameArb() });
      // Frames that once closed a connection the wrong way, tried first on every run: a client sending a
      // server's message type (graphql-ws: 4500), an operation nested past what a recursive parse survives.
      const serverMessages: Frame[] = [
        { type: 'connection_ack' },
        { id: '1', type: 'next', payload: { data: {} } },
        { id: '1', type: 'error', payload: [{ message: 'x' }] },
      ].map((message) => ({ kind: 'server-message', data: JSON.stringify(message), binary: false, closes: 4400 }));
      const deep: Frame = {
        kind: 'operation',
        data: toJson({ id: 'deep', type: 'subscribe', payload: { query: 'query($d: JSON) { me { id } }', variables: { d: new DeepList(5000) } } }),
        binary: false,
        operationId: 'deep',
      };
      const examples = [...serverMessages, deep].flatMap((frame) => [true, false].map((acknowledged): [{ acknowledged: boolean; frame: Frame }] => [{ acknowledged, frame }]));
      // graphql-ws writes to console.error whenever it meets something it did not expect; the only
      // one allowed here is ws refusing an oversize frame (which it closes with 1009 itself).
      const consoleErrors = vi.spyOn(console, 'error').mockImplementation(() => {});
      let errorCalls: unknown[][] = [];
      try {
        await fc.assert(
          fc.asyncProperty(cases, async ({ acknowledged, frame }) => {
            frames += 1;
            turn += 1;
            const user = socketUsers[turn % socketUsers.length]!;
            const socket = await rawConnect(t.url);
            opened.push(socket);
            try {
              if (acknowledged) await socket.init(bearer(user.token));
              socket.socket.send(frame.data, { binary: frame.binary });
              const seen: WireMessage[] = [];
              // The probe: a fresh connection must still be able to start; an acknowledged one to run an operation.
              if (acknowledged) socket.send({ id: PROBE_ID, type: 'subscribe', payload: { query: '{ me { id } }' } });
              else socket.send({ type: 'connection_init', payload: bearer(user.token) });
              const result = await outcome(socket, (message) => (acknowledged ? message.id === PROBE_ID : message.type === 'connection_ack'), seen);

              const described = `${frame.kind} ${acknowledged ? 'after' : 'before'} the ack: ${String(frame.data).slice(0, 300)}`;
              if (result.closed !== undefined) {
                expect(CLIENT_CLOSE_CODES, `closed with ${result.closed} for ${described}`).toContain(result.closed);
                if (frame.closes !== undefined) expect(result.closed, described).toBe(frame.closes);
                // An operation before the ack is refused with 4401; a well-formed one after it never closes the connection.
                if (frame.operationId !== undefined && acknowledged) expect.fail(`closed with ${result.closed} for ${described}`);
                if (frame.operationId !== undefined) expect(result.closed, described).toBe(4401);
              } else {
                expect(frame.closes, `stayed open after ${described}`).toBeUndefined();
                if (frame.operationId !== undefined && !acknowledged) expect.fail(`an operation before the ack was not refused: ${described}`);
                if (acknowledged) expect(result.answer, described).toMatchObject({ type: 'next', payload: { data: { me: { id: user.id } } } });
              }
              // Whatever the fuzzed operation answered carries contract codes.
              for (const message of seen) {
                const errors = message.type === 'error' ? (message.payload as GraphQLErrorShape[]) : message.type === 'next' ? ((message.payload as { errors?: GraphQLErrorShape[] }).errors ?? []) : [];
                for (const error of errors) expect(OPERATION_ERROR_CODES, `${JSON.stringify(error)} for ${described}`).toContain(error.extensions?.['code']);
              }
            } finally {
              socket.close();
              await socket.closed;
            }
          }),
          { numRuns: FRAME_RUNS, seed: SEED + 2, examples },
        );
      } finally {
        errorCalls = [...consoleErrors.mock.calls];
        consoleErrors.mockRestore();
      }
      const unexpected = errorCalls.filter(([, error]) => (error as { code?: unknown } | undefined)?.code !== 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
      expect(unexpected.map((args) => args.map(String).join(' '))).toEqual([]);

      // Still healthy: liveness and readiness, every fuzz socket gone, the per-user cap intact, subscriptions delivering.
      const base = t.url.replace(/\/graphql$/, '');
      expect((await fetch(`${base}/health`)).status).toBe(200);
      expect((await fetch(`${base}/ready`)).status).toBe(200);
      await eventually(async () => {
        const metrics = await (await fetch(`${base}/metrics`)).text();
        return /^realtime_open_connections\{transport="ws"\} 0$/m.test(metrics) ? true : undefined;
      }, 'every fuzz connection to be closed');
      const full = Array.from({ length: 20 }, () => wsConnect(t.url, bearer(socketUsers[0]!.token)));
      clients.push(...full);
      await Promise.all(full.map((client) => client.connected));
      // Someone the fuzz never called as, so no fuzzed preference mutes the notification.
      const customer = await person(t, 'fz-after-the-fuzz', 'customer');
      const live = wsConnect(t.url, bearer(customer.token));
      clients.push(live);
      const counts = live.subscribe(UnreadCountChangedDocument);
      const unread = (await counts.next()).unreadCountChanged;
      const sent = await httpData(t.url, SendNotificationDocument, { input: { userIds: [customer.id], title: 'After the fuzz', body: 'still delivering' } }, world.people.admin.token);
      expect(sent.sendNotification).toBe(1);
      expect(await counts.next()).toEqual({ unreadCountChanged: unread + 1 });
    });
  });
});
