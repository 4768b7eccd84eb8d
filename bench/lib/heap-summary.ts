/**
 * What a heap snapshot holds, by node type and name: count and bytes, the
 * largest first. Run: tsx bench/lib/heap-summary.ts <file.heapsnapshot> [rows]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

const [file, rows = '40'] = process.argv.slice(2);
const heap = JSON.parse(readFileSync(file!, 'utf8')) as Snapshot;
const fields = heap.snapshot.meta.node_fields;
const types = heap.snapshot.meta.node_types[0];
const width = fields.length;
const typeAt = fields.indexOf('type');
const nameAt = fields.indexOf('name');
const sizeAt = fields.indexOf('self_size');
const totals = new Map<string, { count: number; bytes: number }>();
for (let i = 0; i < heap.nodes.length; i += width) {
  const type = types[heap.nodes[i + typeAt]!]!;
  const name = type === 'string' || type === 'concatenated string' || type === 'sliced string' ? '(strings)' : heap.strings[heap.nodes[i + nameAt]!]!.slice(0, 60);
  const key = `${type} ${name}`;
  const total = totals.get(key) ?? { count: 0, bytes: 0 };
  total.count += 1;
  total.bytes += heap.nodes[i + sizeAt]!;
  totals.set(key, total);
}
const all = [...totals.values()].reduce((sum, total) => sum + total.bytes, 0);
console.log(`total ${(all / 1024 / 1024).toFixed(1)} MB`);
for (const [key, total] of [...totals].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, Number(rows))) {
  console.log(`${(total.bytes / 1024).toFixed(0).padStart(8)} KB ${String(total.count).padStart(8)}  ${key}`);
}
