/**
 * Interleaved rounds for the data-plane bench: every configuration runs once per round, in the
 * same order (a,b,c,d,e, a,b,c,d,e, …), so the machine's drift over minutes falls on all of
 * them alike. Around each load run it reads the backends' request counters (the canary share
 * the split produced) and the CPU time and RSS of each configuration's processes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { measureUsage, processTree, type Usage } from './procs.js';
import type { Target } from './targets.js';

export interface RoundResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  /** Canary share of the requests the backends served during the run (0..1), when counted. */
  readonly canaryShare?: number;
  /** A second latency figure (the paced load's p99 from the scheduled send time). */
  readonly extra?: number;
}

/** One watched process of a configuration with the processes it forked (minus other watched ones). */
export interface RoleUsage {
  readonly role: string;
  readonly procs: number;
  readonly cpuPercent: number;
  readonly rssKb: number;
}

export interface Measured {
  readonly load: Map<string, RoundResult[]>;
  readonly idle: Map<string, RoleUsage[]>;
  /** Per configuration, per round, per role. */
  readonly busy: Map<string, RoleUsage[][]>;
}

export interface MeasureOptions {
  readonly idleSeconds: number;
  readonly rounds: number;
  run(target: Target): Promise<Omit<RoundResult, 'canaryShare'>>;
  /** Requests served so far by [stable, canary]. */
  served(): Promise<[number, number]>;
}

/** Each role's pids: its process tree without the trees of the configuration's other roles. */
function rolePids(target: Target): number[][] {
  const trees = target.roles.map((r) => processTree(r.pid));
  return trees.map((tree, i) => {
    const others = new Set(trees.flatMap((t, j) => (j !== i && tree.includes(target.roles[j]!.pid) ? t : [])));
    return tree.filter((pid) => !others.has(pid));
  });
}

function byRole(target: Target, groups: number[][], usage: readonly Usage[]): RoleUsage[] {
  return groups.map((pids, i) => {
    const mine = usage.filter((u) => pids.includes(u.pid));
    return {
      role: target.roles[i]!.role,
      procs: mine.length,
      cpuPercent: mine.reduce((s, u) => s + u.cpuPercent, 0),
      rssKb: mine.reduce((s, u) => s + u.rssKb, 0),
    };
  });
}

/** Idle usage of every configuration at once, then `rounds` interleaved load rounds. */
export async function measureTargets(targets: readonly Target[], o: MeasureOptions): Promise<Measured> {
  const idle = new Map<string, RoleUsage[]>();
  const groups = targets.map(rolePids);
  const { usage } = await measureUsage(groups.flat(2), () => sleep(o.idleSeconds * 1000));
  targets.forEach((t, i) => idle.set(t.key, byRole(t, groups[i]!, usage)));

  const load = new Map<string, RoundResult[]>(targets.map((t) => [t.key, []]));
  const busy = new Map<string, RoleUsage[][]>(targets.map((t) => [t.key, []]));
  for (let round = 0; round < o.rounds; round++) {
    for (const t of targets) {
      const pids = rolePids(t);
      const [s0, c0] = await o.served();
      const measured = await measureUsage(pids.flat(), () => o.run(t));
      const [s1, c1] = await o.served();
      // Each stub_status read is itself one request to that backend.
      const stable = s1 - s0 - 1;
      const canary = c1 - c0 - 1;
      load.get(t.key)!.push({ ...measured.result, canaryShare: stable + canary > 0 ? canary / (stable + canary) : NaN });
      busy.get(t.key)!.push(byRole(t, pids, measured.usage));
    }
  }
  return { load, idle, busy };
}

/** `rounds` interleaved runs of `run` over the targets. */
export async function pacedRun(
  targets: readonly Target[],
  rounds: number,
  run: (t: Target) => Promise<RoundResult>,
): Promise<Map<string, RoundResult[]>> {
  const out = new Map<string, RoundResult[]>(targets.map((t) => [t.key, []]));
  for (let round = 0; round < rounds; round++) for (const t of targets) out.get(t.key)!.push(await run(t));
  return out;
}

/** The median element by `by` (the upper one of an even count). */
export function median<T>(xs: readonly T[], by: (x: T) => number): T | undefined {
  const sorted = [...xs].sort((a, b) => by(a) - by(b));
  return sorted[Math.floor(sorted.length / 2)];
}
