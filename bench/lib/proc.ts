import { readFileSync } from 'node:fs';

const CLOCK_TICKS = 100;

/** RSS (bytes) and CPU seconds (user + system) of a process, from /proc. */
export function processUsage(pid: number): { rssBytes: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssBytes: rssKb * 1024, cpuSeconds: ticks / CLOCK_TICKS };
}

export function percentiles(values: number[]): { p50: number; p95: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return { p50: round(at(50)), p95: round(at(95)), p99: round(at(99)), max: round(sorted[sorted.length - 1] ?? 0) };
}

/**
 * TCP counters of this network namespace (every process in it, not only the bench's), from /proc/net/netstat:
 * ListenOverflows counts connections a listening socket's full accept queue dropped (the client's SYN is
 * retried after 1 s, 3 s, …), TCPSynRetrans the SYNs sent again.
 */
export function tcpCounters(): { listenOverflows: number; synRetransmits: number } {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const names = lines.find((line) => line.startsWith('TcpExt:'))?.split(' ') ?? [];
  const numbers = lines.filter((line) => line.startsWith('TcpExt:'))[1]?.split(' ') ?? [];
  const counter = (name: string) => Number(numbers[names.indexOf(name)] ?? 0);
  return { listenOverflows: counter('ListenOverflows'), synRetransmits: counter('TCPSynRetrans') };
}

/** CPU seconds the whole machine spent busy (every core, every process: /proc/stat's first line less idle and iowait). */
export function machineBusySeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS;
}
