/**
 * What bench/hostile/connections.ts prints: each users run as it ends (latency, the first
 * second apart, where the slow requests fall and what they waited for, the gateway's own view),
 * and at the end the three targets side by side per round, the attack's figures and the target.
 */
import type { ChildProcess } from 'node:child_process';
import { SLOW_MS, type SlowRequest, type UsersReport } from './users.js';

/** hostile: the attacked gateway; quiet: the same gateway with no hostile connections; direct: the backend itself. */
export type TargetName = 'hostile' | 'quiet' | 'direct';

export interface Target {
  readonly name: TargetName;
  readonly url: string;
  readonly gateway: ChildProcess | null;
}

export interface Sample {
  readonly open: number;
  readonly fds: number;
  readonly busy: number;
  readonly lagP99: number;
  readonly lagMax: number;
  readonly cpu: number;
  readonly at: number;
}

export interface LoopWindow {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface GatewayRun {
  readonly loop: LoopWindow;
  readonly samples: readonly Sample[];
  /** Accept-queue overflows on this machine during the run (TcpExt ListenOverflows). */
  readonly overflows: number;
  /** The gateway's own request durations (received → answered): all, over 50 ms, over 250 ms. */
  readonly of: number;
  readonly over50: number;
  readonly over250: number;
}

export interface Run {
  readonly target: TargetName;
  readonly round?: number;
  readonly users: UsersReport;
  readonly gateway: GatewayRun | null;
}

export type GatewayTotals = ReadonlyArray<{ readonly version: string; readonly requests: number; readonly errors: number }>;

export interface Settings {
  readonly rps: number;
  readonly seconds: number;
  readonly warmup: number;
  readonly preopen: number;
  readonly priority: number;
}

const ms = (n: number): string => (Number.isNaN(n) ? '-' : n.toFixed(1));

function median(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]!;
}

function describeSlow(s: SlowRequest): string {
  const conn = s.fresh ? `, new connection (connect ${ms(s.connectMs ?? NaN)})` : '';
  return `at ${s.at.toFixed(0)} ms: ${ms(s.ms)} = late ${ms(s.late)} + wait ${ms(s.wait)}${conn} + server ${ms(s.server)} + body ${ms(s.ms - s.late - s.wait - s.server)}`;
}

/** Slow requests per 100 ms of the first second, then per second: count (first on a new connection). */
function timeline(slow: readonly SlowRequest[], seconds: number): string {
  const bins = new Map<string, { n: number; fresh: number }>();
  const keys: string[] = [];
  for (let b = 0; b < 10; b++) keys.push(`${b * 100}-${b * 100 + 100}ms`);
  for (let sec = 1; sec < seconds; sec++) keys.push(`${sec}s`);
  for (const s of slow) {
    const key = s.at < 1_000 ? keys[Math.max(0, Math.floor(s.at / 100))]! : `${Math.floor(s.at / 1_000)}s`;
    const bin = bins.get(key) ?? { n: 0, fresh: 0 };
    bin.n++;
    if (s.fresh) bin.fresh++;
    bins.set(key, bin);
  }
  return keys
    .filter((k) => bins.has(k))
    .map((k) => `${k} ${bins.get(k)!.n}(${bins.get(k)!.fresh})`)
    .join(' ');
}

/** One run, as it ends. */
export function printRun(run: Run, settings: Settings): void {
  const u = run.users;
  const failed = Object.values(u.failures).reduce((a, b) => a + b, 0);
  const firstSecond = u.slow.filter((s) => s.at < 1_000);
  const fresh = u.slow.filter((s) => s.fresh);
  console.log(
    `[round ${run.round ?? 1}] ${run.target}: ${u.ok}/${u.sent} ok, failures ${failed} ${JSON.stringify(u.failures)}; p50 ${ms(u.p50)} ms, p99 ${ms(u.p99)} ms (first second ${ms(u.p99First)}, rest ${ms(u.p99Rest)}), max ${ms(u.max)} ms`,
  );
  console.log(
    `   over ${SLOW_MS} ms: ${u.slow.length} (${firstSecond.length} in the first second); ${fresh.length} of them the first request on a new connection; connections opened in the window ${u.connects}, pre-opened ${u.preopened}; users' loop delay p99 ${ms(u.lagP99)} max ${ms(u.lagMax)} ms`,
  );
  if (u.slow.length > 0) {
    console.log(
      `   slow requests by time since the users started, count (first on a new connection): ${timeline(u.slow, settings.seconds)}`,
    );
    const parts = (pick: (s: SlowRequest) => number): string => ms(median(u.slow.map(pick)));
    console.log(
      `   their median parts (ms): late ${parts((s) => s.late)}, wait ${parts((s) => s.wait)}, server ${parts((s) => s.server)}; the first five: ${u.slow
        .slice(0, 5)
        .map(describeSlow)
        .join('; ')}`,
    );
  }
  if (settings.warmup > 0)
    console.log(`   warm-up (left out): ${u.warm.sent} requests, ${u.warm.over50} over ${SLOW_MS} ms, max ${ms(u.warm.max)} ms`);
  const g = run.gateway;
  if (g === null) return;
  console.log(
    `   gateway: own durations over 50 ms ${g.over50}, over 250 ms ${g.over250}, of ${g.of}; loop delay p99 ${ms(g.loop.p99)} max ${ms(g.loop.max)} ms; per-second loop delay max: ${g.samples
      .map((s) => s.lagMax.toFixed(0))
      .join(' ')}; accept-queue overflows ${g.overflows}`,
  );
}

function gatewayLoad(runs: readonly Run[]): void {
  for (const run of runs) {
    const samples = run.gateway?.samples ?? [];
    if (samples.length < 2) continue;
    const cpu = samples.at(-1)!.cpu - samples[0]!.cpu;
    const wall = (samples.at(-1)!.at - samples[0]!.at) / 1000;
    const opens = samples.map((s) => s.open);
    console.log(
      `[round ${run.round ?? 1}] ${run.target} gateway: CPU ${(cpu / wall).toFixed(2)} core-seconds/s, busy median ${median(samples.map((s) => s.busy)).toFixed(2)}, open connections ${Math.min(...opens)}–${Math.max(...opens)}, descriptors max ${Math.max(...samples.map((s) => s.fds))}`,
    );
  }
}

/** The targets side by side, the attack's figures and the target's verdict. */
export function printSummary(
  runs: readonly Run[],
  attacks: ReadonlyArray<Record<string, unknown>>,
  hostile: { readonly refused: number; readonly totals: GatewayTotals },
  quiet: { readonly totals: GatewayTotals },
): void {
  gatewayLoad(runs);
  console.log('\nusers p99 (ms) per round — whole window / first second / rest:');
  for (const target of ['hostile', 'quiet', 'direct'] as const) {
    const mine = runs.filter((r) => r.target === target);
    if (mine.length === 0) continue;
    console.log(
      `   ${target.padEnd(8)} ${mine.map((r) => `${ms(r.users.p99)} / ${ms(r.users.p99First)} / ${ms(r.users.p99Rest)}`).join('   |   ')}`,
    );
  }
  const sum = (k: string): number => attacks.reduce((n, a) => n + Number(a[k] ?? 0), 0);
  const max = (k: string): number => Math.max(...attacks.map((a) => Number(a[k])).filter((n) => !Number.isNaN(n)));
  console.log(
    `hostile connections opened ${sum('opened')}, closed by the gateway with 408: ${sum('got408')}, refused 503: ${sum('got503')}, connect errors ${sum('connectErrors')} ${JSON.stringify(attacks.map((a) => a.errorCodes))}`,
  );
  console.log(
    `idle connections closed by the gateway: ${sum('idleClosed')}, lifetime p50 of one attacker ${Number(attacks[0]?.idleP50).toFixed(0)} ms, max ${max('idleMax').toFixed(0)} ms (headers timeout 10000 ms)`,
  );
  console.log(`slow-header connections closed by the gateway: ${sum('slowClosed')}, lifetime max ${max('slowMax').toFixed(0)} ms`);
  console.log(`gateway refused connections (caps): ${hostile.refused}`);
  const totals = (t: GatewayTotals): string => JSON.stringify(t.map(({ version, requests, errors }) => ({ version, requests, errors })));
  console.log(`per-version totals: attacked gateway ${totals(hostile.totals)}, quiet gateway ${totals(quiet.totals)}`);
  const errors = hostile.totals.reduce((n, t) => n + t.errors, 0);
  const attacked = runs.filter((r) => r.target === 'hostile');
  const failed = attacked.reduce((n, r) => n + Object.values(r.users.failures).reduce((a, b) => a + b, 0), 0);
  const worst = Math.max(...attacked.map((r) => r.users.p99));
  const pass = attacked.length > 0 && worst <= 50 && failed === 0 && errors === 0 && max('idleMax') <= 11_500;
  console.log(
    `target (attacked gateway: p99 ≤ 50 ms in every run, 0 failures, idle closed ≤ 11.5 s, 0 version errors): ${pass ? 'MET' : 'NOT MET'} (worst p99 ${ms(worst)} ms)`,
  );
}
