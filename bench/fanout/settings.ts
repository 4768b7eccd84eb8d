/** The fan-out benchmark's flags (see bench/fanout.ts), parsed and checked once, and what follows from them. */
import { parseArgs } from 'node:util';

export const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    events: { type: 'string', default: '5' },
    rate: { type: 'string', default: '200' },
    duration: { type: 'string', default: '3' },
    scenario: { type: 'string', default: 'all' },
    embedded: { type: 'boolean', default: false },
    /** Subscriptions per connection in the idle scenario (0–3). */
    subs: { type: 'string', default: '3' },
    /** Broadcast and board events per second; 0 sends them back to back. */
    'event-rate': { type: 'string', default: '0' },
    /** Unicast scenarios also run as fast as the server answers with this many mutations in flight; 0: not. */
    'in-flight': { type: 'string', default: '0' },
    /** http, or ws: the measured mutations go over graphql-ws connections of this process. */
    'mutations-over': { type: 'string', default: 'http' },
    /** node:http (keep-alive Agent, pre-printed documents), or fetch: test/support/clients.ts's httpData, one fetch per mutation. */
    'http-sender': { type: 'string', default: 'node:http' },
    /** node:http: at most this many connections (0: as many as mutations in flight, as fetch opens them); the rest wait in this process. */
    'http-sockets': { type: 'string', default: '64' },
    /** Runs the server's TypeScript through tsx instead of the build in dist/. */
    tsx: { type: 'boolean', default: false },
    /** false: the server executes each event once per subscriber (SHARED_EXECUTION=false). */
    shared: { type: 'string', default: 'true' },
    /** The idle scenario writes a heap snapshot of the server, holding its connections, to this file. */
    'heap-snapshot': { type: 'string' },
    /** Writes a V8 CPU profile of the server's measured phase of each scenario to this directory. */
    profile: { type: 'string' },
  },
});
export const N = Number(values.n);
export const EVENTS = Number(values.events);
export const RATE = Number(values.rate);
export const DURATION_S = Number(values.duration);
export const EVENT_RATE = Number(values['event-rate']);
export const IN_FLIGHT = Number(values['in-flight']);
export const SHARED = values.shared !== 'false';
export const scenarios = values.scenario === 'all' ? ['broadcast', 'board', 'per-user', 'orders', 'chat', 'idle'] : values.scenario!.split(',');
if (!['http', 'ws'].includes(values['mutations-over']!)) throw new Error(`--mutations-over is http or ws, not ${values['mutations-over']}`);
if (!Number.isInteger(IN_FLIGHT) || IN_FLIGHT < 0) throw new Error(`--in-flight is a whole number, not ${values['in-flight']}`);
if (!['node:http', 'fetch'].includes(values['http-sender']!)) throw new Error(`--http-sender is node:http or fetch, not ${values['http-sender']}`);
export const HTTP_SOCKETS = Number(values['http-sockets']);
if (!Number.isInteger(HTTP_SOCKETS) || HTTP_SOCKETS < 0) throw new Error(`--http-sockets is a whole number, not ${values['http-sockets']}`);
export const OVER_WS = values['mutations-over'] === 'ws';
/** Added to the label of every graphql row whose mutations went over graphql-ws. */
export const MUTATIONS_LABEL = OVER_WS ? '(mutations over graphql-ws)' : '';
/** Scenarios whose raw counterpart sends one frame to one socket at --rate. */
export const UNICAST = ['per-user', 'per-user-batched', 'orders', 'chat'];
/** Unicast scenarios with one mutation per event: --in-flight runs them in a closed loop too. */
export const CLOSED_LOOP = ['per-user', 'orders', 'chat'];
export const backend = values.embedded ? 'embedded' : 'postgres+redis';
/** Events of a unicast scenario's run. */
export const TOTAL = RATE * DURATION_S;
