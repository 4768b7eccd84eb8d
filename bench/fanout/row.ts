import type { percentiles } from '../lib/proc.js';

/** One measured row: a line of both tables and an entry of the results file's rows. */
export interface Row {
  /** The key a graphql row and its raw counterpart share. */
  scenario: string;
  /** How this run differs, printed after the scenario: e.g. `(mutations over graphql-ws)`. */
  variant?: string;
  target: 'graphql' | 'raw ws';
  connections: number;
  deliveries: number;
  expected: number;
  deliveriesPerSecond: number;
  latency: ReturnType<typeof percentiles>;
  serverRssMb: number;
  serverCpuSeconds: number;
  bytesPerConnection: number;
  /** Commit → the server's PubSub delivered the event, p50 / p99 (histogram bucket bounds, ms); event-loop delay p99 (ms); GC time. */
  serverLag?: string;
  /** Failed mutations of the phase, and how many failed of each kind (failureKind). */
  failed: number;
  failures: Record<string, number>;
  /** This process (the sender) while it sent, from the first action to the last one's end: CPU seconds / wall seconds, % of one core. */
  senderCpuPercent: number;
  /** The load process (the receiver) and the server over the whole phase, % of one core. */
  receiverCpuPercent: number;
  serverCpuPercent: number;
  /** The rest of the machine over the phase (PostgreSQL, Redis, anything else running), % of one core. */
  restCpuPercent: number;
  /** Open loop: how late actions went out after their due time, ms (those not held back). */
  sendLateness: ReturnType<typeof percentiles> | null;
  /** Actions that waited for their key's previous one (orders), and how long, ms. */
  heldBack: number;
  heldBackMs: ReturnType<typeof percentiles> | null;
  /** Sent → answered, ms, of the phase's actions (Phase.answered). */
  answeredMs: ReturnType<typeof percentiles> | null;
  /** HTTP connections the sender opened during the phase (null: not over node:http), and how long they took to connect. */
  connectionsOpened: number | null;
  connectMs: ReturnType<typeof percentiles> | null;
  /** System-wide TCP counters over the phase (tcpCounters). */
  listenOverflows: number;
  synRetransmits: number;
}

export const joined = (...parts: string[]) => parts.filter(Boolean).join(' ');

/** The row's name in the tables: its scenario and variant. */
export const label = (row: Row) => joined(row.scenario, row.variant ?? '');
