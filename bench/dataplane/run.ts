/**
 * Data-plane benchmark. One run, loopback, two NGINX
 * `return 200` backends (stable, canary; 1 worker each) and a 95/5 split by the `x-user-id`
 * header through:
 *   a) plain HAProxy, static 95/5 server weights, nbthread 1
 *   b) Tern-on-HAProxy   (bench/dataplane/tern-haproxy.ts, evidence on)
 *   c) NGINX split_clients 95/5 on the user header, 1 worker
 *   d) Tern-on-NGINX     (bench/dataplane/tern-nginx.ts, evidence on)
 *   e) Tern's built-in gateway, 1 process
 * Part 1: wrk at 64 connections, a random user key per request, in interleaved rounds
 * (a,b,c,d,e, a,b,c,d,e, …); the median round per configuration, ratios b/a, b/c, d/c, e/c
 * against the data-plane targets (targets.ts), and the canary share the backends' counters saw.
 * Part 2: open-loop load at a fixed rate (paced-load.ts), p99 per configuration, b−a.
 * Part 3: CPU% and RSS of every proxy and agent process, idle and under load (/proc).
 * By default the proxies and agents are pinned to CPU 0 and wrk, the load generator and the
 * backends to CPU 1 (taskset), so each proxy has one core to itself; `--pin none` turns that off.
 * Needs haproxy, nginx (with stub_status) and wrk. From the repo root:
 *   node --import tsx bench/dataplane/run.ts [--rounds 5] [--duration 10] [--quick]
 *     [--only a,c,e] [--evidence on|off|both] [--rate 2000] [--threads 2] [--pin auto|none] [--priority=-10]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, setPriority, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { backendBody, USER_HEADER, writeNginx } from './configs.js';
import { probeStickiness, servedCount, writeUserScript, wrk } from './load.js';
import { canPin, freePort, killChildren, start, waitPort } from './procs.js';
import { measureTargets, pacedRun, type Measured, type RoundResult } from './rounds.js';
import { printLoad, printPaced, printUsage } from './report.js';
import {
  loadTernStarter,
  startBuiltinGateway,
  startNginxSplit,
  startPlainHaproxy,
  startTern,
  type Context,
  type Target,
} from './targets.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '10' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: 'a,b,c,d,e' },
    evidence: { type: 'string', default: 'on' },
    rate: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
    pin: { type: 'string', default: 'auto' },
    priority: { type: 'string', default: '0' },
  },
});
const quick = values.quick;
const ROUNDS = quick ? 1 : Number(values.rounds);
const SECONDS = quick ? 2 : Number(values.duration);
const RATE = Number(values.rate);
const only = new Set(values.only.split(','));
if (!(ROUNDS >= 1 && ROUNDS <= 50) || !(SECONDS >= 1 && SECONDS <= 600) || !(RATE > 0 && RATE <= 20_000))
  throw new Error('--rounds 1..50, --duration 1..600 s, --rate 1..20000');
if (!['on', 'off', 'both'].includes(values.evidence)) throw new Error('--evidence on|off|both');
// Every process this run starts inherits the niceness (e.g. --priority -10 on a busy shared machine).
if (values.priority !== '0') setPriority(0, Number(values.priority));
const pinned = values.pin !== 'none' && canPin(availableParallelism());
const proxyCpu = pinned ? 0 : null;
const loadCpu = pinned ? 1 : null;

const work = mkdtempSync(path.join(tmpdir(), 'tern-dataplane-bench-'));
const targets: Target[] = [];
let cleaning: Promise<void> | null = null;
/** Set on SIGINT/SIGTERM or the hard stop: the run's own errors (its children killed under it) are then expected. */
let interrupted = false;

/** Stops every configuration and child and removes the work directory; every caller awaits the same run of it. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.allSettled(targets.map((t) => t.stop()));
    await killChildren();
    rmSync(work, { recursive: true, force: true });
  })();
  return cleaning;
}
function interrupt(code: number): void {
  interrupted = true;
  void cleanup().finally(() => process.exit(code));
}
process.once('SIGINT', () => interrupt(130));
process.once('SIGTERM', () => interrupt(143));
// Every phase is bounded; this is the bound on the whole run.
const hardStopMs = (ROUNDS * 2 * 7 * (SECONDS + 15) + 600) * 1000; // 7 configurations at most, two parts
const hardStop = setTimeout(() => {
  console.error(`bench/dataplane: stopped after ${hardStopMs / 1000} s`);
  interrupt(1);
}, hardStopMs);
hardStop.unref();

/** Starts the backends; returns the context every target starts from. */
async function startBackends(): Promise<Context & { statusPorts: [number, number] }> {
  const [stablePort, canaryPort, stableStatus, canaryStatus] = [await freePort(), await freePort(), await freePort(), await freePort()];
  start('nginx', writeNginx(path.join(work, 'stable'), backendBody('stable', stablePort, stableStatus)), loadCpu);
  start('nginx', writeNginx(path.join(work, 'canary'), backendBody('canary', canaryPort, canaryStatus)), loadCpu);
  await Promise.all([waitPort(stablePort), waitPort(canaryPort), waitPort(stableStatus), waitPort(canaryStatus)]);
  return {
    work,
    stablePort,
    canaryPort,
    stableUrl: `http://127.0.0.1:${stablePort}`,
    canaryUrl: `http://127.0.0.1:${canaryPort}`,
    proxyCpu,
    statusPorts: [stableStatus, canaryStatus],
  };
}

/** Starts the selected configurations in order; one that cannot start is reported and left out. */
async function startTargets(ctx: Context): Promise<void> {
  const tern = async (key: string, file: string, name: string, label: string, evidence: boolean): Promise<Target | string> => {
    const starter = await loadTernStarter(file, name);
    return typeof starter === 'string' ? starter : startTern(ctx, key, `${label}${evidence ? '' : ', evidence off'}`, starter, evidence);
  };
  const evidenceModes = values.evidence === 'both' ? [true, false] : [values.evidence === 'on'];
  const plan: Array<[string, () => Promise<Target | string>]> = [['a', () => startPlainHaproxy(ctx)]];
  for (const ev of evidenceModes)
    plan.push([ev ? 'b' : 'b0', () => tern(ev ? 'b' : 'b0', 'tern-haproxy.ts', 'startTernOnHaproxy', 'Tern-on-HAProxy', ev)]);
  plan.push(['c', () => startNginxSplit(ctx)]);
  for (const ev of evidenceModes)
    plan.push([ev ? 'd' : 'd0', () => tern(ev ? 'd' : 'd0', 'tern-nginx.ts', 'startTernOnNginx', 'Tern-on-NGINX', ev)]);
  plan.push(['e', () => startBuiltinGateway(ctx)]);
  for (const [key, startOne] of plan) {
    if (!only.has(key.slice(0, 1))) continue;
    try {
      const target = await startOne();
      if (typeof target === 'string') console.log(`${key}: not available (${target})`);
      else targets.push(target);
    } catch (err) {
      console.log(`${key}: not available (failed to start: ${(err as Error).message.split('\n')[0]})`);
    }
  }
}

try {
  const ctx = await startBackends();
  await startTargets(ctx);
  const script = path.join(work, 'users.lua');
  writeUserScript(script);
  const threads = Number(values.threads);
  const connections = Number(values.connections);
  console.log(
    `# wrk -t${threads} -c${connections} -d${SECONDS}s, random ${USER_HEADER} per request (10^7 keys), loopback, median of ${ROUNDS} interleaved round(s); ` +
      (pinned ? 'proxies and agents pinned to CPU 0, wrk/load generator/backends to CPU 1' : 'no CPU pinning') +
      `; nice ${values.priority}; ${availableParallelism()} CPUs, load average ${loadavg()[0]!.toFixed(2)}`,
  );

  // Stickiness and split of each configuration, and a warm-up (JIT, connection pools).
  for (const t of targets) {
    const s = await probeStickiness(t.url, quick ? 100 : 500);
    await wrk({ url: t.url, script, connections: 16, threads: 1, seconds: quick ? 1 : 2, cpu: loadCpu });
    console.log(
      `${t.key}: ${t.label} at ${t.url}  probe: ${s.users} users asked twice, ${s.sticky} kept their version, ${s.canary} on the canary, ${s.errors} errors`,
    );
  }

  const measured: Measured = await measureTargets(targets, {
    idleSeconds: quick ? 1 : 3,
    rounds: ROUNDS,
    run: (t) => wrk({ url: t.url, script, connections, threads, seconds: SECONDS, cpu: loadCpu }),
    served: async () => Promise.all(ctx.statusPorts.map(servedCount)) as Promise<[number, number]>,
  });
  printLoad(targets, measured.load);

  console.log(`# fixed rate: ${RATE} requests/s open loop (paced-load.ts, undici, ${USER_HEADER} random), ${SECONDS} s per round`);
  const paced: Map<string, RoundResult[]> = await pacedRun(targets, ROUNDS, (t) => paced1(t.url));
  printPaced(targets, paced);
  printUsage(targets, measured);
} catch (err) {
  if (!interrupted) throw err;
} finally {
  clearTimeout(hardStop);
  await cleanup();
}

/** One open-loop run through `url` in its own process on the load CPU. */
async function paced1(url: string): Promise<RoundResult> {
  const self = path.dirname(new URL(import.meta.url).pathname);
  const child = start(
    process.execPath,
    ['--import', 'tsx', path.join(self, 'paced-load.ts'), url, String(RATE), String(SECONDS)],
    loadCpu,
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const code = await Promise.race([
    new Promise<number | null>((resolve) => child.once('exit', resolve)),
    sleep((SECONDS + 60) * 1000).then(() => (child.kill('SIGKILL'), -1)),
  ]);
  if (code !== 0) throw new Error(`paced-load exited with ${code}`);
  const r = JSON.parse(out.trim().split('\n').pop()!) as {
    rps: number;
    p50: number;
    p99: number;
    errors: number;
    skipped: number;
    scheduledP99: number;
  };
  return { rps: r.rps, p50: r.p50, p99: r.p99, errors: r.errors + r.skipped, extra: r.scheduledP99 };
}
