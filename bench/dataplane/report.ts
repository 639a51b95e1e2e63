/**
 * Printing for the data-plane bench: one comparable figure per line — the median round per
 * configuration, the ratios against the data-plane targets, the fixed-rate p99 differences and the
 * processes' CPU and memory.
 */
import { median, type Measured, type RoleUsage, type RoundResult } from './rounds.js';
import type { Target } from './targets.js';

const pct = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(1)}%`);

/** Part 1: throughput medians, spread, observed split, and the ratios. */
export function printLoad(targets: readonly Target[], load: Map<string, RoundResult[]>): void {
  const med = new Map<string, RoundResult>();
  for (const t of targets) {
    const runs = load.get(t.key)!;
    const m = median(runs, (r) => r.rps)!;
    med.set(t.key, m);
    const rps = runs.map((r) => r.rps);
    const errors = runs.reduce((s, r) => s + r.errors, 0);
    console.log(
      `${t.key} ${t.label.padEnd(34)} rps ${m.rps.toFixed(0).padStart(7)} (rounds ${Math.min(...rps).toFixed(0)}–${Math.max(...rps).toFixed(0)})  ` +
        `p50 ${m.p50.toFixed(2)} ms  p99 ${m.p99.toFixed(2)} ms  canary ${pct(median(runs, (r) => r.canaryShare ?? NaN)?.canaryShare)}  errors ${errors}`,
    );
  }
  const ratio = (x: string, y: string, target?: number): void => {
    const a = med.get(x);
    const b = med.get(y);
    const name = `${x}/${y}`;
    if (!a || !b) return void console.log(`ratio ${name} n/a (${a ? y : x} not measured)`);
    const r = a.rps / b.rps;
    const verdict = target === undefined ? '' : `  (target ≥ ${target.toFixed(2)}: ${r >= target ? 'met' : 'NOT met'})`;
    console.log(`ratio ${name} ${r.toFixed(2)}${verdict}`);
  };
  ratio('b', 'a', 0.9);
  ratio('b', 'c', 0.95);
  ratio('d', 'c', 0.7);
  ratio('e', 'c');
  for (const [on, off] of [
    ['b', 'b0'],
    ['d', 'd0'],
  ] as const) {
    const a = med.get(on);
    const b = med.get(off);
    if (a && b)
      console.log(
        `evidence cost in ${on}: ${on}/${off} ${(a.rps / b.rps).toFixed(2)} (${((1 - a.rps / b.rps) * 100).toFixed(1)}% of throughput)`,
      );
  }
}

/** Part 2: fixed-rate latency medians (by p99) and the added p99 of b over a and d over c. */
export function printPaced(targets: readonly Target[], paced: Map<string, RoundResult[]>): void {
  const med = new Map<string, RoundResult>();
  for (const t of targets) {
    const m = median(paced.get(t.key)!, (r) => r.p99)!;
    med.set(t.key, m);
    const errors = paced.get(t.key)!.reduce((s, r) => s + r.errors, 0);
    console.log(
      `${t.key} ${t.label.padEnd(34)} at ${m.rps.toFixed(0)} rps  p50 ${m.p50.toFixed(2)} ms  p99 ${m.p99.toFixed(2)} ms  ` +
        `(p99 from schedule ${(m.extra ?? NaN).toFixed(2)} ms)  failed or not sent ${errors}`,
    );
  }
  const diff = (x: string, y: string, target?: number): void => {
    const a = med.get(x);
    const b = med.get(y);
    if (!a || !b) return void console.log(`p99 ${x}−${y} n/a (${a ? y : x} not measured)`);
    const d = a.p99 - b.p99;
    const verdict = target === undefined ? '' : `  (target ≤ ${target} ms: ${d <= target ? 'met' : 'NOT met'})`;
    console.log(`p99 ${x}−${y} ${d >= 0 ? '+' : ''}${d.toFixed(2)} ms${verdict}`);
  };
  diff('b', 'a', 0.5);
  diff('d', 'c');
  diff('e', 'c');
}

const mib = (kb: number): string => `${(kb / 1024).toFixed(1)} MiB`;

/** Part 3: CPU% (of one core) and RSS per watched process, idle and under wrk (median round). */
export function printUsage(targets: readonly Target[], m: Measured): void {
  console.log('# processes: CPU % of one core and RSS, idle and under the wrk load (median round by CPU)');
  for (const t of targets) {
    const idle = m.idle.get(t.key) ?? [];
    const busy = m.busy.get(t.key) ?? [];
    t.roles.forEach((role, i) => {
      const rounds = busy.map((r) => r[i]).filter((u): u is RoleUsage => u !== undefined);
      const b = median(rounds, (u) => u.cpuPercent);
      const a = idle[i];
      if (!a?.procs && !b?.procs)
        return void console.log(`${t.key} ${role.role.padEnd(8)} pid ${String(role.pid).padStart(7)} not running`);
      console.log(
        `${t.key} ${role.role.padEnd(8)} pid ${String(role.pid).padStart(7)} (${a?.procs ?? 0} proc)  ` +
          `idle ${a ? `${a.cpuPercent.toFixed(1)}% ${mib(a.rssKb)}` : 'n/a'}  load ${b ? `${b.cpuPercent.toFixed(1)}% ${mib(b.rssKb)}` : 'n/a'}`,
      );
    });
  }
}
