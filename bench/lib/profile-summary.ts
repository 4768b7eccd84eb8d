/**
 * Where a V8 CPU profile's busy time went: self time by package (a
 * node_modules package, a file of ours, node's internals, GC) and by
 * function, the largest first, as shares of the busy (non-idle) time.
 * Run: tsx bench/lib/profile-summary.ts <file.cpuprofile> [rows]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** `@whatwg-node/server`, `graphql`, `dist/server.js`, `node:internal/streams`, or a V8 pseudo-frame such as `(garbage collector)`. */
function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url.slice(url.lastIndexOf('node_modules/')));
  if (inModules) return inModules[1]!;
  const internal = /^node:internal\/([^/]+)/.exec(url);
  if (internal) return `node:internal/${internal[1]!.replace(/\.js$/, '')}`;
  if (url.startsWith('node:')) return url;
  const ours = /\/(dist|src|bench|test)\/(.+)$/.exec(url);
  return ours ? `${ours[1]}/${ours[2]}` : url;
}

const [file, rows = '30'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file!, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMicros = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i += 1) {
  const id = profile.samples[i]!;
  // A sample's time is the delta to the next one.
  const delta = profile.timeDeltas[i + 1] ?? 0;
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + delta);
}
const byPackage = new Map<string, number>();
const byFunction = new Map<string, number>();
let busy = 0;
for (const [id, micros] of selfMicros) {
  const frame = byId.get(id)!.callFrame;
  if (frame.functionName === '(idle)') continue;
  busy += micros;
  const pkg = packageOf(frame.url, frame.functionName);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros);
  const name = `${frame.functionName || '(anonymous)'} ${pkg}:${frame.lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
}
const share = (micros: number) => `${((micros / busy) * 100).toFixed(1).padStart(5)} %`;
console.log(`busy ${(busy / 1e6).toFixed(2)} s of ${(profile.timeDeltas.reduce((sum, delta) => sum + delta, 0) / 1e6).toFixed(2)} s\n\nself time by package:`);
for (const [name, micros] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, Number(rows))) console.log(`${share(micros)}  ${name}`);
console.log('\nself time by function:');
for (const [name, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(rows))) console.log(`${share(micros)}  ${name}`);
