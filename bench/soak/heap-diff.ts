/**
 * What grew between two V8 heap snapshots of one process: live objects grouped by kind and
 * constructor, the groups whose retained-by-themselves size (V8's `self_size`) grew most. A
 * snapshot holds only what survived a full GC, so growth here is live memory, not garbage or
 * the allocator's slack. Take them with the soak (`SOAK_HEAP_DIR`, run.ts) or any
 * `node --heapsnapshot-signal=SIGUSR2` process:
 *
 *   node --import tsx bench/soak/heap-diff.ts EARLIER.heapsnapshot LATER.heapsnapshot [--top 20]
 *
 * Hand-written: the snapshot format is a flat array (nodes × node_fields) plus a string table,
 * and the maintained parsers (Chrome DevTools' front end) do not run as a library in Node.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

interface Group {
  count: number;
  bytes: number;
}

/** Live objects of a snapshot by `type: name` (count and self size). */
export function groups(file: string): { total: number; by: Map<string, Group> } {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const types = s.snapshot.meta.node_types[0];
  const by = new Map<string, Group>();
  let total = 0;
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + typeAt]!] ?? '?';
    // Strings and code are grouped by kind only: their names are their contents.
    const name = type === 'object' || type === 'closure' || type === 'native' ? s.strings[s.nodes[i + nameAt]!] : '';
    const key = `${type}: ${name ?? '?'}`;
    const size = s.nodes[i + sizeAt]!;
    total += size;
    const g = by.get(key);
    if (g === undefined) by.set(key, { count: 1, bytes: size });
    else {
      g.count++;
      g.bytes += size;
    }
  }
  return { total, by };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '20' } } });
  if (positionals.length !== 2) throw new Error('usage: heap-diff.ts EARLIER.heapsnapshot LATER.heapsnapshot [--top N]');
  const [a, b] = positionals.map(groups) as [ReturnType<typeof groups>, ReturnType<typeof groups>];
  const mib = (n: number): string => (n / 1_048_576).toFixed(2);
  console.log(`live heap: ${mib(a.total)} → ${mib(b.total)} MiB (${b.total >= a.total ? '+' : ''}${mib(b.total - a.total)} MiB)`);
  const keys = new Set([...a.by.keys(), ...b.by.keys()]);
  const rows = [...keys]
    .map((k) => {
      const x = a.by.get(k) ?? { count: 0, bytes: 0 };
      const y = b.by.get(k) ?? { count: 0, bytes: 0 };
      return { k, dCount: y.count - x.count, dBytes: y.bytes - x.bytes, count: y.count };
    })
    .sort((p, q) => q.dBytes - p.dBytes)
    .slice(0, Number(values.top));
  for (const r of rows)
    console.log(`  ${(r.dBytes / 1024).toFixed(1).padStart(10)} KiB  ${String(r.dCount).padStart(8)} objects (now ${r.count})  ${r.k}`);
}
