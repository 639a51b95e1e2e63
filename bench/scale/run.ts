/**
 * Scale bench: N concurrent users, each a distinct `x-user-id` holding its own
 * keep-alive connection and sending a request every ~20 s on average (N / 20 requests a second),
 * first straight to a backend (the baseline, measured in the same run), then through
 * `tern gateway --workers W` (bin/tern) while a release steps 0 → 5 → 50 → 100% by the `tern` CLI.
 * Backends: NGINX `return 200` (stable answers v1, canary v2); control plane: `tern server`.
 *
 * The full run (needs a quiet machine: 10–13 minutes, ~4–5 GB of memory (7 workers × ~14,000 connections at ~20 KiB each, 7 client processes), nothing else loading the cores):
 *
 *   npx tsc -p tsconfig.json && node --import tsx bench/scale/run.ts --users 100000 --workers 7 --ramp 60 --duration 240 --baseline 60
 *
 * Duration: setup ~20 s + baseline (ramp 60 s + hold 60 s + TIME_WAIT wait ≤ 65 s) + gateway
 * (ramp 60 s + hold 240 s) + teardown ≈ 10–13 min. Development size: `--users 10000 --ramp 15 --duration 60 --baseline 20`.
 *
 * Machine limits it respects (docs/operations.md, "Scale"):
 * - 20,000 open files per process (hard limit): one client process per ≤ 15,000 users, NGINX one
 *   worker per ~14,000 direct connections, and the gateway's workers each cap at 18,000;
 * - ~28,000 ephemeral ports per (source address, destination address:port): users come from
 *   127.1.0.1, 127.1.0.2, … with 200 users per address, which also stays under the gateway's
 *   256 connections per client address (`--max-connections-per-client`) as real users do;
 * - ramp ≥ 60 s above 20,000 users (new connections at ≤ ~1,700/s);
 * - TIME_WAIT: before each phase it waits (≤ 65 s) until `ss -s` counts fewer than 10,000.
 *
 * `--data-plane haproxy` sends the second phase through HAProxy instead: `--proxies P` HAProxy
 * processes on one port (default one per 8,500 users: one HAProxy holds ~9,900 connections under
 * 20,000 open files), each started and driven by its own `tern agent haproxy --threads T`
 * (`--proxy-threads`, default 1: the processes already share the two cores):
 *
 *   npx tsc -p tsconfig.json && node --import tsx bench/scale/run.ts --users 100000 --data-plane haproxy --ramp 60 --duration 240 --baseline 60
 *
 * Every loop is bounded; the whole run stops itself at its time budget (printed first).
 * `CLIENT_PROF=DIR` writes a CPU profile of each client process to DIR (the clients' own cost);
 * `GATEWAY_NODE_ARGS="--perf-basic-prof"` (any node flags) starts `tern gateway` with them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ClientJob, ClientReport } from './client.js';
import { childrenOf, listenOverflows, sample, timeWait, type ProcSample } from './probe.js';
import { CpuMeter, group, groupLine, ms, n0, perConnection, Window, windowLine } from './report.js';
import { releaseDriver, startBackends, startControlPlane, startGateway, startHaproxyPlane, type ControlPlane } from './stack.js';

const CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'client.ts');
const USERS_PER_CLIENT = 15_000;
const USERS_PER_ADDRESS = 200;
const TIME_WAIT_CEILING = 10_000;
/** One HAProxy holds ~9,900 client connections under 20,000 open files (stack.ts); the kernel's reuseport spread needs slack. */
const USERS_PER_HAPROXY = 8_500;

function seconds(name: string, value: string, min: number, max: number): number {
  const m = /^(\d+)(s|m)?$/.exec(value.trim());
  const s = m === null ? NaN : Number(m[1]) * (m[2] === 'm' ? 60 : 1);
  if (!(s >= min && s <= max)) throw new Error(`--${name} must be ${min}–${max} seconds (e.g. 60, 90s, 4m), got ${value}`);
  return s;
}

function options(): {
  users: number;
  duration: number;
  workers: number;
  ramp: number;
  baseline: number;
  interval: number;
  balance: 'kernel' | 'primary';
  dataPlane: 'gateway' | 'haproxy';
  proxies: number;
  proxyThreads: number;
} {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '100000' },
      duration: { type: 'string', default: '240' },
      workers: { type: 'string', default: '7' },
      ramp: { type: 'string', default: '60' },
      baseline: { type: 'string', default: '60' },
      interval: { type: 'string', default: '20' },
      balance: { type: 'string', default: 'kernel' },
      'data-plane': { type: 'string', default: 'gateway' },
      proxies: { type: 'string' },
      'proxy-threads': { type: 'string', default: '1' },
    },
  });
  const users = Number(values.users);
  if (!Number.isInteger(users) || users < 100 || users > 120_000) throw new Error(`--users must be 100–120,000, got ${values.users}`);
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 16) throw new Error(`--workers must be 1–16, got ${values.workers}`);
  const ramp = seconds('ramp', values.ramp, users > 20_000 ? 60 : 5, 600);
  if (values.balance !== 'kernel' && values.balance !== 'primary')
    throw new Error(`--balance must be kernel or primary, got ${values.balance}`);
  const dataPlane = values['data-plane'];
  if (dataPlane !== 'gateway' && dataPlane !== 'haproxy') throw new Error(`--data-plane must be gateway or haproxy, got ${dataPlane}`);
  const proxies = values.proxies === undefined ? Math.max(1, Math.ceil(users / USERS_PER_HAPROXY)) : Number(values.proxies);
  if (!Number.isInteger(proxies) || proxies < 1 || proxies > 24) throw new Error(`--proxies must be 1–24, got ${values.proxies}`);
  const proxyThreads = Number(values['proxy-threads']);
  if (!Number.isInteger(proxyThreads) || proxyThreads < 1 || proxyThreads > 8)
    throw new Error(`--proxy-threads must be 1–8, got ${values['proxy-threads']}`);
  return {
    users,
    workers,
    dataPlane,
    proxies,
    proxyThreads,
    ramp,
    duration: seconds('duration', values.duration, 20, 1_800),
    baseline: values.baseline === '0' ? 0 : seconds('baseline', values.baseline, 10, 600),
    interval: seconds('interval', values.interval, 1, 60),
    balance: values.balance,
  };
}

const o = options();
const clientCount = Math.max(2, Math.ceil(o.users / USERS_PER_CLIENT));
const nginxWorkers = Math.max(2, Math.ceil(o.users / 14_000));
const budgetS = 240 + (o.baseline > 0 ? o.ramp + o.baseline + 70 : 0) + o.ramp + o.duration + 70;
const hardStop = setTimeout(() => {
  console.log(`HARD STOP: the run exceeded its budget of ${budgetS} s`);
  process.exit(2);
}, budgetS * 1000);
hardStop.unref();
const loads = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

console.log(
  `scale bench: ${n0(o.users)} users, one request per ~${o.interval} s each (${n0(o.users / o.interval)} rps), ${clientCount} client processes, ` +
    `${Math.ceil(o.users / USERS_PER_ADDRESS)} source addresses (127.1.0.1…, ${USERS_PER_ADDRESS} users each); ` +
    (o.dataPlane === 'gateway'
      ? `gateway --workers ${o.workers}, gateway --balance ${o.balance}`
      : `${o.proxies} HAProxy data planes, ${o.proxyThreads} thread(s) each`) +
    `; ramp ${o.ramp} s, baseline hold ${o.baseline} s, gateway hold ${o.duration} s; budget ${budgetS} s; load average ${loads()}`,
);

async function waitOutTimeWait(): Promise<void> {
  const start = Date.now();
  let tw = timeWait();
  while (tw > TIME_WAIT_CEILING && Date.now() - start < 65_000) {
    await sleep(2_000);
    tw = timeWait();
  }
  console.log(`  TIME_WAIT sockets: ${n0(tw)} (waited ${((Date.now() - start) / 1000).toFixed(0)} s)`);
}

interface Groups {
  readonly [name: string]: readonly ProcSample[];
}

interface Phase {
  readonly name: string;
  readonly port: number;
  readonly holdS: number;
  /** Processes to sample: name → pids (resolved at every sample). */
  readonly watch: () => Record<string, number[]>;
  /** The process group whose memory growth is divided by the connections held. */
  readonly holder: string;
  /** Called at the hold's start; may add windows. */
  readonly during?: (holdStart: number, addWindow: (w: Window) => void) => Promise<void>;
}

function sampleAll(watch: Record<string, number[]>): Groups {
  return Object.fromEntries(
    Object.entries(watch).map(([name, pids]) => [name, pids.map(sample).filter((s): s is ProcSample => s !== null)]),
  );
}

async function runPhase(p: Phase): Promise<void> {
  console.log(`\n== ${p.name} ==`);
  await waitOutTimeWait();
  const overflowsBefore = listenOverflows();
  const before = sampleAll(p.watch());
  const startAt = Date.now() + 3_000;
  const rampEnd = startAt + o.ramp * 1000;
  const holdEnd = rampEnd + p.holdS * 1000;
  const windows = [new Window('ramp', startAt, rampEnd), new Window('hold (whole)', rampEnd, holdEnd)];
  // Where in the hold a tail comes from: p99 and max of each 10 s.
  const slices = Array.from(
    { length: Math.ceil(p.holdS / 10) },
    (_, k) => new Window(`${k * 10} s`, rampEnd + k * 10_000, Math.min(holdEnd, rampEnd + (k + 1) * 10_000)),
  );
  const clients: ChildProcess[] = [];
  const open = new Map<number, number>();
  const openSeries: Array<{ at: number; open: number }> = [];
  let maxFds: Record<string, number> = {};
  for (let i = 0; i < clientCount; i++) {
    const first = Math.floor((i * o.users) / clientCount);
    const count = Math.floor(((i + 1) * o.users) / clientCount) - first;
    const child = fork(CLIENT, [], {
      execArgv: ['--import', 'tsx', ...(process.env.CLIENT_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.CLIENT_PROF] : [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (m: ClientReport | { type: 'stopped' }) => {
      if (m.type !== 'tick') return;
      open.set(i, m.open);
      const second = m.at - 500;
      for (const w of [...windows, ...slices]) if (second >= w.from && second < w.to) w.add(m);
    });
    const job: ClientJob = {
      host: '127.0.0.1',
      port: p.port,
      first,
      count,
      perAddress: USERS_PER_ADDRESS,
      startAt,
      rampMs: o.ramp * 1000,
      meanIntervalMs: o.interval * 1000,
    };
    child.send({ type: 'start', job });
    clients.push(child);
  }
  // The clients are sampled with the processes under test: their CPU over the hold only.
  const watchAll = (): Record<string, number[]> => ({ ...p.watch(), clients: clients.map((c) => c.pid!) });
  const meter = new CpuMeter();
  const every = setInterval(() => {
    openSeries.push({ at: Date.now(), open: [...open.values()].reduce((a, b) => a + b, 0) });
    const g = sampleAll(watchAll());
    meter.add(g);
    maxFds = Object.fromEntries(Object.entries(g).map(([k, l]) => [k, Math.max(maxFds[k] ?? 0, ...l.map((s) => s.fds))]));
  }, 1_000);
  const progress = setInterval(() => {
    const last = openSeries.at(-1);
    console.log(`  … ${((Date.now() - startAt) / 1000).toFixed(0)} s: ${n0(last?.open ?? 0)} connections open; load ${loads()}`);
  }, 15_000);
  await sleep(rampEnd - Date.now());
  const atHold = sampleAll(watchAll());
  meter.start(atHold);
  await p.during?.(rampEnd, (w) => windows.push(w));
  await sleep(Math.max(0, holdEnd - Date.now()));
  clearInterval(every);
  const atEnd = sampleAll(watchAll());
  meter.add(atEnd);
  clearInterval(progress);
  await Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => (c.kill('SIGKILL'), resolve()), 10_000);
          c.once('exit', () => (clearTimeout(timer), resolve()));
          c.send({ type: 'stop' });
        }),
    ),
  );
  const held = openSeries.filter((s) => s.at >= rampEnd + 2_000 && s.at < holdEnd).map((s) => s.open);
  const peak = Math.max(0, ...openSeries.map((s) => s.open));
  console.log(
    `connections held: peak ${n0(peak)}, steady (lowest during the hold) ${n0(held.length ? Math.min(...held) : 0)} of ${n0(o.users)} users`,
  );
  for (const w of windows) console.log(windowLine(w));
  console.log(`hold p99 / max per 10 s, ms: ${slices.map((w) => `${ms(w.quantile(0.99))}/${ms(w.maxMs)}`).join('  ')}`);
  console.log(`processes at the end of the hold (CPU over the hold, ${p.holdS} s):`);
  for (const [name, list] of Object.entries(atEnd)) console.log(groupLine(group(name, list, meter.seconds(name), p.holdS)));
  const steady = held.length ? Math.min(...held) : 0;
  console.log(
    `  memory per held connection (${p.holder}): ${perConnection(before[p.holder] ?? [], atEnd[p.holder] ?? [], steady)}; ` +
      `most descriptors ever open per group: ${Object.entries(maxFds)
        .map(([k, v]) => `${k} ${n0(v)}`)
        .join(', ')}`,
  );
  console.log(`  listen-queue overflows (kernel, machine-wide): ${n0(listenOverflows() - overflowsBefore)}`);
}

const dir = await mkdtemp(path.join(tmpdir(), 'tern-scale-'));
let cp: ControlPlane | undefined;
const stops: Array<() => Promise<void>> = [];
try {
  const backends = await startBackends(dir, nginxWorkers);
  stops.push(() => backends.stop());
  cp = await startControlPlane(backends.stablePort);
  stops.push(() => cp!.stop());
  const server = cp.proc.child.pid!;
  const nginx = (): Record<string, number[]> => ({ 'nginx workers': childrenOf(backends.proc.pid!) });
  if (o.baseline > 0)
    await runPhase({
      name: `direct to NGINX (baseline: the same clients, no gateway), ${nginxWorkers} workers`,
      port: backends.stablePort,
      holdS: o.baseline,
      watch: nginx,
      holder: 'nginx workers',
    });
  const release = releaseDriver(cp, backends.canaryPort);
  const steps = async (holdStart: number, addWindow: (w: Window) => void): Promise<void> => {
    const quarter = (o.duration * 1000) / 4;
    let last = new Window('step 0% (no release)', holdStart, holdStart + quarter);
    addWindow(last);
    for (let i = 1; i <= 3; i++) {
      await sleep(Math.max(0, holdStart + i * quarter - Date.now()));
      const step = await release.next();
      console.log(`  ${new Date(step.at).toISOString()} ${step.how}`);
      // The seconds while the CLI ran belong to neither step.
      last.to = step.asked;
      last = new Window(`step ${step.weight}%`, step.at, holdStart + 4 * quarter);
      addWindow(last);
    }
  };
  if (o.dataPlane === 'gateway') {
    const gw = await startGateway(cp, o.workers, o.balance);
    stops.push(() => gw.stop());
    await runPhase({
      name: `through tern gateway --workers ${o.workers} --balance ${o.balance} while a release steps 0 → 5 → 50 → 100%`,
      port: gw.port,
      holdS: o.duration,
      watch: () => ({
        'gateway primary': [gw.pid],
        'gateway workers': childrenOf(gw.pid),
        ...nginx(),
        'tern server': [server],
      }),
      holder: 'gateway workers',
      during: steps,
    });
  } else {
    const hap = await startHaproxyPlane(cp, o.proxies, o.proxyThreads);
    stops.push(() => hap.stop());
    await runPhase({
      name: `through ${o.proxies} HAProxy processes on one port, each driven by tern agent haproxy, while a release steps 0 → 5 → 50 → 100%`,
      port: hap.port,
      holdS: o.duration,
      watch: () => ({
        'haproxy workers': hap.masters.flatMap((m) => childrenOf(m)),
        'tern agents': [...hap.agents],
        ...nginx(),
        'tern server': [server],
      }),
      holder: 'haproxy workers',
      during: steps,
    });
  }
  console.log(`release: ${await release.status()}`);
} finally {
  for (const stop of stops.reverse()) await stop().catch((err: unknown) => console.log(`cleanup: ${String(err)}`));
  await rm(dir, { recursive: true, force: true });
  console.log(`load average after: ${loads()}`);
}
// Whatever handle is left (a closed child's pipe, a pooled socket) must not hold the run open.
process.exit(0);
