/**
 * Fault-injection soak: a fixed-rate load (default 300 requests a second,
 * 5,000 users, sticky by x-user-id) through two `tern gateway --workers 2` in front of two
 * `tern server`s on a private PostgreSQL cluster (test/support/postgres-cluster.ts, so stopping
 * it disturbs nobody), spread as an L4 balancer does (test/support/balanced-load.ts: a refused
 * connect moves on, a request on a kept-alive connection closed under it is retried once). A
 * release is always in progress (10% → 50% → 100%, 2 min holds, analysis on), and every 30 s a
 * random fault happens (seeded, printed; each kind once per round of five): a worker of gateway 1
 * SIGKILLed, the leader SIGKILLed and restarted, gateway 1 restarted, PostgreSQL stopped for 10 s,
 * the release promoted or rolled back. Gateway 2 is never restarted: the control whose memory
 * trend covers the last 5 minutes.
 *
 * Prints: the success rate, failures by kind and by fault, the worst latency spike (when, next
 * to which fault), the audit check (chain verifies, no event lost or duplicated, each action's
 * event written once: audit.ts), and memory per process every 10 s with its trend over the
 * last 5 minutes (memory.ts). Targets: ≥ 99.99% successful, 0 lost or duplicated, flat memory.
 *
 * Needs root (it runs the private PostgreSQL as `postgres`) and the built CLI. From the repo root:
 *   npx tsc -p tsconfig.json && node --import tsx bench/soak/run.ts [--minutes 10] [--rps 300] [--seed N] [--every 30]
 * `SOAK_HEAP_DIR=DIR` adds heap snapshots of gateway 2's workers for heap-diff.ts (live memory).
 * Bounded: --minutes ≤ 30; the run stops itself at its budget (minutes + 4).
 */
import { randomInt } from 'node:crypto';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { percentile, startBalancedLoad } from '../../test/support/balanced-load.js';
import { startPostgresCluster } from '../../test/support/postgres-cluster.js';
import { killAll } from '../../test/support/processes.js';
import { startTernCluster } from '../../test/support/tern-cluster.js';
import { childrenOf } from '../scale/probe.js';
import { auditIds, checkAudit } from './audit.js';
import { faultOrder, inject, Releases, seeded, type FaultKind } from './faults.js';
import { MemorySampler } from './memory.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rps: { type: 'string', default: '300' },
    seed: { type: 'string' },
    every: { type: 'string', default: '30' },
  },
});
const minutes = Number(values.minutes);
const rps = Number(values.rps);
const every = Number(values.every);
const seed = values.seed === undefined ? randomInt(1, 2 ** 31) : Number(values.seed);
if (!(minutes >= 1 && minutes <= 30)) throw new Error(`--minutes must be 1–30, got ${values.minutes}`);
if (!Number.isInteger(rps) || rps < 1 || rps > 2000) throw new Error(`--rps must be a whole number 1–2000, got ${values.rps}`);
if (!(every >= 10 && every <= 300)) throw new Error(`--every must be 10–300 seconds, got ${values.every}`);
if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
const hardStop = setTimeout(
  () => {
    console.log('HARD STOP: the soak exceeded its budget');
    void killAll().finally(() => process.exit(2));
  },
  (minutes + 4) * 60_000,
);
hardStop.unref();

const loads = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(`soak: ${minutes} min at ${rps} rps, a fault every ${every} s, seed ${seed}; load average ${loads()}`);

const postgres = await startPostgresCluster();
// SOAK_HEAP_DIR=DIR: heap snapshots of gateway 2's workers (at 20%, 55% and 95% of the run) into
// DIR, for bench/soak/heap-diff.ts. A snapshot pauses its worker for a second or more: a run
// with it measures memory, not latency.
const heapDir = process.env.SOAK_HEAP_DIR;
const cluster = await startTernCluster({
  baseUrl: postgres.url,
  leaseTtl: '6s',
  drainTimeout: '10s',
  gatewayWorkers: 2,
  ...(heapDir ? { gatewayNodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${heapDir}`] } : {}),
});
const t0 = Date.now();
const clock = (at: number): string => {
  const s = Math.round((at - t0) / 1000);
  return `+${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};
const memory = new MemorySampler(() => ({
  'server 1': [cluster.servers[0]!.proc.child.pid!],
  'server 2': [cluster.servers[1]!.proc.child.pid!],
  ...Object.fromEntries(
    cluster.gateways.map((g, i) => [`gateway ${i + 1}`, [g.proc.child.pid!, ...childrenOf(g.proc.child.pid!)]] as const),
  ),
}));
const faults: Array<{ kind: FaultKind; at: number; done: number; what: string }> = [];
try {
  const releases = new Releases(cluster);
  console.log(`${clock(Date.now())} ${await releases.start()}`);
  const load = startBalancedLoad(
    cluster.gateways.map((g) => g.url),
    { rps, users: 5000, maxSeconds: minutes * 60 + 60 },
  );
  const end = t0 + minutes * 60_000;
  const random = seeded(seed);
  const nextFault = faultOrder(random);
  const seen = new Set<number>();
  const ctx = { cluster, postgres, releases, random, restarted: () => memory.sampleNow() };
  const snapshots = heapDir
    ? [0.2, 0.55, 0.95].map((f) =>
        setTimeout(
          () => {
            const workers = childrenOf(cluster.gateways[1]!.proc.child.pid!);
            for (const pid of workers) process.kill(pid, 'SIGUSR2');
            console.log(`${clock(Date.now())} heap snapshot of gateway 2's workers ${workers.join(', ')} → ${heapDir}`);
          },
          f * minutes * 60_000,
        ),
      )
    : [];
  for (let k = 1; t0 + k * every * 1000 < end - 5_000; k++) {
    await sleep(Math.max(0, t0 + k * every * 1000 - Date.now()));
    const kind = nextFault();
    for (const id of await auditIds(cluster).catch(() => [])) seen.add(id);
    const at = Date.now();
    const what = await inject(kind, ctx).catch((err: unknown) => `FAULT FAILED: ${(err as Error).message.split('\n')[0]}`);
    faults.push({ kind, at, done: Date.now(), what });
    const s = load.stats;
    console.log(`${clock(at)} fault ${k}: ${kind}: ${what} [${s.ok} ok, ${s.failed} failed so far; load ${loads()}]`);
  }
  await sleep(Math.max(0, end - Date.now()));
  snapshots.forEach(clearTimeout);
  const stats = await load.stop();
  memory.stop();
  for (const id of await auditIds(cluster).catch(() => [])) seen.add(id);

  console.log(`\n== results (${minutes} min, ${faults.length} faults, seed ${seed}) ==`);
  const rate = stats.sent === 0 ? 0 : (100 * stats.ok) / stats.sent;
  console.log(
    `requests: ${stats.sent} sent, ${stats.ok} ok, ${stats.failed} failed → ${rate.toFixed(4)}% successful ` +
      `(${stats.retried} retried once on the other gateway, ${stats.movedOn} refused connects moved on)`,
  );
  for (const [kind, n] of stats.failureKinds) console.log(`  failed: ${n} × ${kind}`);
  const near = (at: number): string => {
    const f = faults.filter((x) => x.at <= at + 1_000).at(-1);
    return f === undefined ? 'before any fault' : `${((at - f.at) / 1000).toFixed(1)} s after fault "${f.kind}" at ${clock(f.at)}`;
  };
  for (const why of new Set(stats.failures)) console.log(`  e.g. ${why}`);
  const failedBySecond = new Map<number, number>();
  for (const at of stats.failedAt) failedBySecond.set(Math.floor(at / 1000), (failedBySecond.get(Math.floor(at / 1000)) ?? 0) + 1);
  for (const [s, n] of [...failedBySecond].slice(0, 20))
    console.log(`  ${n} failed in the second at ${clock(s * 1000)}, ${near(s * 1000)}`);
  const all = stats.latencies.map(([, ms]) => ms);
  console.log(`latency: p50 ${percentile(all, 50)} ms, p99 ${percentile(all, 99)} ms, max ${all.reduce((a, b) => Math.max(a, b), 0)} ms`);
  const bySecond = new Map<number, number[]>();
  for (const [at, ms] of stats.latencies) {
    const second = Math.floor(at / 1000);
    const list = bySecond.get(second);
    if (list === undefined) bySecond.set(second, [ms]);
    else list.push(ms);
  }
  // The first 15 s open the load's keep-alive pools (128 connections per gateway): reported apart.
  const warmEnd = Math.floor((t0 + 15_000) / 1000);
  const warm = [...bySecond].filter(([s]) => s < warmEnd).flatMap(([, l]) => l);
  console.log(`warm-up (first 15 s, connections being opened): p99 ${percentile(warm, 99)} ms, max ${Math.max(0, ...warm)} ms`);
  const spikes = [...bySecond]
    .filter(([s]) => s >= warmEnd)
    .map(([s, l]) => ({ at: s * 1000, p99: percentile(l, 99), max: Math.max(...l) }))
    .sort((a, b) => b.p99 - a.p99);
  for (const s of spikes.slice(0, 3))
    console.log(`latency spike: p99 ${s.p99} ms (max ${s.max} ms) in the second at ${clock(s.at)}, ${near(s.at)}`);
  console.log('faults:');
  for (const f of faults) console.log(`  ${clock(f.at)} ${f.kind.padEnd(20)} ${((f.done - f.at) / 1000).toFixed(1)} s  ${f.what}`);
  console.log('audit:');
  const audit = await checkAudit(cluster, releases.expected, seen);
  for (const l of audit.lines) console.log(`  ${l}`);
  console.log(`  → lost ${audit.lost}, duplicated ${audit.duplicated}`);
  console.log('memory (RSS, MiB; a gateway = its primary + workers):');
  for (const l of memory.report()) console.log(l);
  const met = rate >= 99.99 && audit.lost === 0 && audit.duplicated === 0;
  console.log(`targets (≥ 99.99% successful, 0 lost or duplicated audit events): ${met ? 'met' : 'NOT met'}; load average ${loads()}`);
  process.exitCode = met ? 0 : 1;
} finally {
  memory.stop();
  await cluster.destroy().catch((err: unknown) => console.log(`cleanup: ${String(err)}`));
  await postgres.destroy();
  await killAll();
}
process.exit(process.exitCode ?? 2);
