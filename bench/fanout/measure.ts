/** One measured phase: what the load process received, and the CPU, memory and metrics of every process around it. */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { ServerProcess } from '../../test/support/server.js';
import { inspectorUrlIn, startCpuProfile } from '../lib/inspector.js';
import type { Mutations } from '../lib/mutations.js';
import { machineBusySeconds, percentiles, processUsage, tcpCounters } from '../lib/proc.js';
import { ask } from './load.js';
import { startPhase } from './pacing.js';
import { backend, N, values } from './settings.js';

/** Profiles only what is measured (not start-up or connecting), when --profile asks for it. */
async function profiled(server: { output(): string } | null, label: string): Promise<() => Promise<void>> {
  if (!values.profile || !server) return async () => {};
  mkdirSync(values.profile, { recursive: true });
  return startCpuProfile(inspectorUrlIn(server.output()), `${values.profile}/${label}-${backend}-${N}.cpuprofile`);
}

interface ServerScrape {
  /** realtime_event_lag_seconds (commit → its PubSub delivered the event to this process): cumulative counts by bound. */
  lag: Map<number, number>;
  /** Event-loop delay p99 since the previous scrape (prom-client resets it on each). */
  loopLagP99Ms: number;
  gcSeconds: number;
}

async function scrapeServer(graphqlUrl: string): Promise<ServerScrape> {
  const text = await (await fetch(graphqlUrl.replace(/\/graphql$/, '/metrics'))).text();
  const lag = new Map<number, number>();
  for (const match of text.matchAll(/^realtime_event_lag_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)) lag.set(match[1] === '+Inf' ? Infinity : Number(match[1]), Number(match[2]));
  const loopLag = Number(/^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text)?.[1] ?? 0);
  let gcSeconds = 0;
  for (const match of text.matchAll(/^nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)$/gm)) gcSeconds += Number(match[1]);
  return { lag, loopLagP99Ms: Math.round(loopLag * 1000), gcSeconds };
}

/** The bucket bound (ms) under which `quantile` of the events between two scrapes fell: coarse, but it splits the latency into before and after the server's PubSub. */
function lagQuantile(before: Map<number, number>, after: Map<number, number>, quantile: number): string {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total === 0) return '';
  for (const bound of bounds) {
    if ((after.get(bound)! - (before.get(bound) ?? 0)) / total >= quantile) return bound === Infinity ? '>10000' : `≤${Math.round(bound * 1000)}`;
  }
  return '';
}

/**
 * `mutations`: the sender's, whose HTTP connections opened during the phase the row counts.
 * `observed`: our server's measured phase, which gets a CPU profile (with --profile) and its own metrics scraped around it.
 * `deliveriesPerAction`: the events one action of `fire` delivers (1 for the unicast rows), by which a failed one lowers the expected.
 */
export async function measure(
  load: ChildProcess,
  serverPid: number,
  mutations: Mutations,
  expected: number,
  timeoutMs: number,
  fire: () => Promise<void>,
  observed?: { server: ServerProcess; label: string },
  deliveriesPerAction = 1,
) {
  const stopProfile = await profiled(observed?.server ?? null, observed?.label ?? '');
  const before = observed ? await scrapeServer(observed.server.url) : null;
  const usageBefore = processUsage(serverPid);
  const loadBefore = processUsage(load.pid!).cpuSeconds;
  const tcpBefore = tcpCounters();
  const machineBefore = machineBusySeconds();
  mutations.takeStats();
  const phase = startPhase();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const collected = ask(load, { kind: 'collect', expected, timeoutMs }, 'collected');
  await fire();
  const senderCpu = process.cpuUsage(cpuBefore);
  const sendingSeconds = (performance.now() - started) / 1000;
  // A failed mutation delivers nothing: waiting for its event would only run into the timeout (and deflate deliveries/s).
  const failed = [...phase.failures.values()].reduce((sum, count) => sum + count, 0);
  if (failed > 0) load.send({ kind: 'expect', expected: expected - failed * deliveriesPerAction });
  const reply = await collected;
  const seconds = (performance.now() - started) / 1000;
  const usageAfter = processUsage(serverPid);
  const loadCpu = processUsage(load.pid!).cpuSeconds - loadBefore;
  const { failures, lateness, heldBack, answered } = phase;
  const tcpAfter = tcpCounters();
  const machineSeconds = machineBusySeconds() - machineBefore;
  const senderSeconds = (senderCpu.user + senderCpu.system) / 1e6;
  const sent = mutations.takeStats();
  await stopProfile();
  const after = observed ? await scrapeServer(observed.server.url) : null;
  return {
    serverLag:
      before && after
        ? `${lagQuantile(before.lag, after.lag, 0.5)} / ${lagQuantile(before.lag, after.lag, 0.99)}; loop ${after.loopLagP99Ms}; GC ${(after.gcSeconds - before.gcSeconds).toFixed(2)} s`
        : '',
    deliveries: reply.received ?? 0,
    deliveriesPerSecond: Math.round((reply.received ?? 0) / seconds),
    latency: percentiles(reply.latencies ?? []),
    serverRssMb: Math.round(usageAfter.rssBytes / 1024 / 1024),
    serverCpuSeconds: Math.round((usageAfter.cpuSeconds - usageBefore.cpuSeconds) * 100) / 100,
    failed,
    failures: Object.fromEntries(failures),
    connectionsOpened: sent ? sent.connectionsOpened : null,
    connectMs: sent?.connectMs.length ? percentiles(sent.connectMs) : null,
    listenOverflows: tcpAfter.listenOverflows - tcpBefore.listenOverflows,
    synRetransmits: tcpAfter.synRetransmits - tcpBefore.synRetransmits,
    senderCpuPercent: Math.round(((senderCpu.user + senderCpu.system) / 1e6 / Math.max(sendingSeconds, 0.001)) * 100),
    receiverCpuPercent: Math.round((loadCpu / seconds) * 100),
    serverCpuPercent: Math.round(((usageAfter.cpuSeconds - usageBefore.cpuSeconds) / seconds) * 100),
    // The sender's CPU after its sending is not counted: it is idle then, near enough.
    restCpuPercent: Math.max(0, Math.round(((machineSeconds - (usageAfter.cpuSeconds - usageBefore.cpuSeconds) - loadCpu - senderSeconds) / seconds) * 100)),
    sendLateness: lateness.length ? percentiles(lateness) : null,
    heldBack: heldBack.length,
    heldBackMs: heldBack.length ? percentiles(heldBack) : null,
    answeredMs: answered.length ? percentiles(answered) : null,
  };
}
