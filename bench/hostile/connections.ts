/**
 * Hostile connections against one gateway (the measured target): 15,000 connections that
 * never send a byte and 1,000 that send one header line every 5 s are held open (reopened as
 * soon as the gateway closes them) while normal users send 500 requests/s for 30 s through a
 * canary split. The gateway runs with its default limits (headers 10 s, caps derived from the
 * open-file limit: 20,000 here → 18,000 connections, 256 per client address).
 *
 * Target: users' p99 ≤ 50 ms, 0 failed requests; idle connections closed within the headers
 * timeout; no error counted against either version.
 *
 * Same-run baselines: the same users, one run after the other in a rotated order per round, go
 * to (hostile) the attacked gateway, (quiet) a second gateway of the same configuration with no
 * hostile connection, and (direct) the stable backend, a plain node:http server with no gateway.
 * All share the machine and the attack, so their figures compare within one run.
 *
 * The users are what a running site sees: each run's client (a new process) opens its 64
 * keep-alive connections before the measured window (`--preopen`, as many concurrent requests,
 * not counted), and the gateways have warmed their proxy path before listening, as `tern
 * gateway` and `tern server` do (`--gateway-warm-up`, src/gateway/warm-up.ts). The window
 * counts every request from its first (`--warmup 0`). Why: users sent at 500 rps to a gateway
 * process that had just started found it cold (the first request ~20 ms of CPU, the next few
 * hundred 2–3× a warm one's), and the first second's p99 was 70–290 ms with or without hostile
 * connections, while a warm gateway with a new client saw 28–50 ms; the slow requests were each
 * timed (late / pool wait and connect / server / body, first on a new connection or not) to
 * place them. bench/hostile/cold-start.ts measures that first second on its own, before and
 * after the warm-up. `--gateway-warm-up 0 --preopen 0` measures the cold start here.
 *
 * The clients need several processes (20,000 descriptors per process) and several loopback
 * source addresses (≈28,000 ports per source/destination pair): four attacker processes share
 * 64 addresses 127.0.0.10–73, ≤ 251 connections each (under the per-client cap, so the total
 * and the timeouts are what is measured); users come from 127.0.0.1.
 * Every loop is bounded in count and time; the whole run stops itself (90 s plus each run's time).
 *
 *   node --import tsx bench/hostile/connections.ts [--idle 15000] [--slow 1000] [--rps 500] [--seconds 30]
 *     [--rounds 1] [--targets hostile,quiet,direct] [--preopen 64] [--warmup 0] [--gateway-warm-up 1000] [--priority=-10]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { loadavg, setPriority } from 'node:os';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DEFAULT_WARM_UP_REQUESTS } from '../../src/gateway/warm-up.js';
import {
  printRun,
  printSummary,
  type GatewayTotals,
  type LoopWindow,
  type Run,
  type Sample,
  type Settings,
  type Target,
  type TargetName,
} from './report.js';
import { listenOverflows } from '../scale/probe.js';
import { usersRole, type UsersPlan, type UsersReport } from './users.js';

const SELF = fileURLToPath(import.meta.url);
type Msg = { readonly type: string } & Record<string, unknown>;

function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

// ---------------------------------------------------------------------------------------------
// Role: the gateway under test, its own process with the default limits.
async function gatewayRole(stable: string, canary: string, warmUpRequests: number): Promise<void> {
  const { startBenchGateway } = await import('./gateway.js');
  const gw = await startBenchGateway(stable, canary, warmUpRequests);
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  // The whole users' window (reset when they start): how long a callback waited for the loop.
  const whole = monitorEventLoopDelay({ resolution: 1 });
  whole.enable();
  let elu = performance.eventLoopUtilization();
  process.on('message', (m: Msg) => {
    if (m.type === 'mark') whole.reset();
    else if (m.type === 'durations') {
      // The gateway's own view (request received → answer ended), summed over both versions.
      void gw.metrics.prometheus().then((text) => {
        const le: Record<string, number> = {};
        for (const [, bound, n] of text.matchAll(/^tern_gateway_request_duration_seconds_bucket\{.*le="([^"]+)".*\} (\d+)/gm)) {
          le[bound!] = (le[bound!] ?? 0) + Number(n);
        }
        process.send?.({ type: 'durations', le });
      });
    } else if (m.type === 'stats') {
      const now = performance.eventLoopUtilization();
      const busy = performance.eventLoopUtilization(now, elu).utilization;
      elu = now;
      process.send?.({
        type: 'stats',
        ...gw.connections(),
        fds: readdirSync('/proc/self/fd').length,
        totals: gw.metrics.totals(),
        busy,
        lagP99: lag.percentile(99) / 1e6,
        lagMax: lag.max / 1e6,
        window: { p50: whole.percentile(50) / 1e6, p99: whole.percentile(99) / 1e6, max: whole.max / 1e6 },
        cpuSeconds: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
      });
      lag.reset();
    } else if (m.type === 'stop') void gw.close().finally(() => process.exit(0));
  });
  process.send?.({ type: 'ready', url: gw.url });
}

// ---------------------------------------------------------------------------------------------
// Role: an attacker process holding idle and slow-header connections from its addresses.
interface Plan {
  readonly port: number;
  readonly addresses: readonly string[];
  readonly idle: readonly number[];
  readonly slow: readonly number[];
  /** The attacker stops reconnecting after this long, and exits a little later. */
  readonly stopAfterMs: number;
}

function attackerRole(plan: Plan): void {
  const deadline = Date.now() + plan.stopAfterMs;
  let stopping = false;
  const open = new Set<Socket>();
  const idleLifetimes: number[] = [];
  const slowLifetimes: number[] = [];
  const stats = { opened: 0, got408: 0, got503: 0, connectErrors: 0, errorCodes: {} as Record<string, number> };
  const drips = new Set<NodeJS.Timeout>();

  const one = (address: string, slow: boolean): void => {
    if (stopping || Date.now() > deadline) return;
    const started = performance.now();
    const s = connect({ host: '127.0.0.1', port: plan.port, localAddress: address });
    let text = '';
    let connected = false;
    let drip: NodeJS.Timeout | null = null;
    s.setEncoding('latin1');
    s.on('data', (c: string) => (text += c));
    s.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'other';
      stats.errorCodes[code] = (stats.errorCodes[code] ?? 0) + 1;
      if (!connected) stats.connectErrors++;
    });
    s.on('connect', () => {
      connected = true;
      stats.opened++;
      open.add(s);
      if (slow) {
        s.write('GET /slow HTTP/1.1\r\nHost: shop\r\n');
        drip = setInterval(() => s.write('x-drip: 1\r\n'), 5_000);
        drips.add(drip);
      }
    });
    s.on('close', () => {
      open.delete(s);
      if (drip !== null) {
        clearInterval(drip);
        drips.delete(drip);
      }
      if (stopping) return;
      if (connected) {
        (slow ? slowLifetimes : idleLifetimes).push(performance.now() - started);
        if (text.startsWith('HTTP/1.1 408')) stats.got408++;
        if (text.startsWith('HTTP/1.1 503')) stats.got503++;
      }
      setTimeout(() => one(address, slow), 20 + Math.random() * 80).unref();
    });
  };

  // Ramp up over ~6 s so the listen backlog is not the thing measured.
  let step = 0;
  const total = plan.idle.reduce((a, b) => a + b, 0) + plan.slow.reduce((a, b) => a + b, 0);
  const queue: Array<[string, boolean]> = [];
  plan.addresses.forEach((a, i) => {
    for (let k = 0; k < plan.idle[i]!; k++) queue.push([a, false]);
    for (let k = 0; k < plan.slow[i]!; k++) queue.push([a, true]);
  });
  const perTick = Math.ceil(total / 60);
  const ramp = setInterval(() => {
    for (let k = 0; k < perTick && step < queue.length; k++, step++) one(...queue[step]!);
    if (step >= queue.length) clearInterval(ramp);
  }, 100);

  const summary = (): Msg => {
    const idle = [...idleLifetimes].sort((a, b) => a - b);
    const slow = [...slowLifetimes].sort((a, b) => a - b);
    return {
      type: 'attack',
      open: open.size,
      ...stats,
      idleClosed: idle.length,
      idleP50: quantile(idle, 0.5),
      idleMax: idle.at(-1) ?? NaN,
      slowClosed: slow.length,
      slowMax: slow.at(-1) ?? NaN,
    };
  };
  process.on('message', (m: Msg) => {
    if (m.type === 'stats') process.send?.(summary());
    if (m.type === 'stop') {
      const final = summary();
      stopping = true;
      clearInterval(ramp);
      for (const d of drips) clearInterval(d);
      for (const s of open) s.destroy();
      process.send?.(final, () => process.exit(0));
    }
  });
  setTimeout(() => process.exit(3), plan.stopAfterMs + 10_000).unref();
}

// ---------------------------------------------------------------------------------------------
// Orchestrator.
function child(args: string[]): ChildProcess {
  // TERN_BENCH_PROFILE=DIR writes a CPU profile of each gateway process there.
  const profile =
    args[0] === 'gateway' && process.env.TERN_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.TERN_BENCH_PROFILE}`] : [];
  return fork(SELF, args, { execArgv: ['--import', 'tsx', ...profile], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function next(c: ChildProcess, type: string, ms = 20_000): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} message within ${ms} ms`)), ms);
    const on = (m: Msg): void => {
      if (m.type !== type) return;
      clearTimeout(timer);
      c.off('message', on);
      resolve(m);
    };
    c.on('message', on);
  });
}

async function ask(c: ChildProcess, type: string): Promise<Msg> {
  const answer = next(c, type);
  c.send({ type: type === 'durations' ? type : 'stats' });
  return answer;
}

async function backend(name: string): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    res.end(name);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function spread(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** One users run against `target`; for a gateway, its loop delay, own durations and per-second stats meanwhile. */
async function measure(target: Target, settings: Settings, children: ChildProcess[]): Promise<Run> {
  const gw = target.gateway;
  const before = gw === null ? null : ((await ask(gw, 'durations')) as Msg & { le: Record<string, number> }).le;
  const overflowsBefore = listenOverflows();
  gw?.send({ type: 'mark' });
  if (gw !== null) await ask(gw, 'stats'); // start the per-second figures with the users
  const plan: UsersPlan = {
    url: target.url,
    rps: settings.rps,
    seconds: settings.seconds,
    warmupSeconds: settings.warmup,
    preopen: settings.preopen,
  };
  const users = child(['users', JSON.stringify(plan)]);
  children.push(users);
  if (settings.priority !== 0 && users.pid !== undefined) setPriority(users.pid, settings.priority);
  const done = next(users, 'users', (settings.seconds + settings.warmup + 40) * 1_000) as Promise<Msg & UsersReport>;
  // The loop-delay window starts with the measured requests, after the warm-up.
  if (gw !== null && settings.warmup > 0) setTimeout(() => gw.send({ type: 'mark' }), settings.warmup * 1_000).unref();
  const samples: Sample[] = [];
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => undefined);
  for (let t = 0; gw !== null && t < settings.seconds + settings.warmup + 30 && !finished; t++) {
    await sleep(1_000);
    const s = await ask(gw, 'stats');
    samples.push({
      open: Number(s.open),
      fds: Number(s.fds),
      busy: Number(s.busy),
      lagP99: Number(s.lagP99),
      lagMax: Number(s.lagMax),
      cpu: Number(s.cpuSeconds),
      at: performance.now(),
    });
  }
  const u = await done;
  const overflows = listenOverflows() - overflowsBefore;
  if (gw === null || before === null) return { target: target.name, users: u, gateway: null };
  const after = ((await ask(gw, 'durations')) as Msg & { le: Record<string, number> }).le;
  const loop = (await ask(gw, 'stats')).window as LoopWindow;
  const count = (le: string): number => (after[le] ?? 0) - (before[le] ?? 0);
  return {
    target: target.name,
    users: u,
    gateway: { loop, samples, overflows, of: count('+Inf'), over50: count('+Inf') - count('0.05'), over250: count('+Inf') - count('0.25') },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      idle: { type: 'string', default: '15000' },
      slow: { type: 'string', default: '1000' },
      rps: { type: 'string', default: '500' },
      seconds: { type: 'string', default: '30' },
      // Connections the users hold when the window starts (keep-alive clients of a running site).
      preopen: { type: 'string', default: '64' },
      // Seconds of users' requests sent before the window and left out of it.
      warmup: { type: 'string', default: '0' },
      // Rounds of the targets, each round in a rotated order, a fresh (cold) users' client per run.
      rounds: { type: 'string', default: '1' },
      // hostile: the attacked gateway; quiet: the same gateway, no hostile connections; direct:
      // the stable backend, a plain node:http server, no gateway. All three share the machine.
      targets: { type: 'string', default: 'hostile,quiet,direct' },
      // e.g. -10: the gateways and the user clients get the CPU before the co-located attackers
      // and other jobs, which is what a dedicated gateway host gives them (needs privileges).
      priority: { type: 'string', default: '0' },
      // Requests each gateway serves itself before it listens (0: the gateway starts cold, as before warm-up.ts).
      'gateway-warm-up': { type: 'string', default: String(DEFAULT_WARM_UP_REQUESTS) },
    },
  });
  const settings: Settings = {
    rps: Number(values.rps),
    seconds: Number(values.seconds),
    warmup: Number(values.warmup),
    preopen: Number(values.preopen),
    priority: Number(values.priority),
  };
  const names = values.targets.split(',') as TargetName[];
  const rounds = Number(values.rounds);
  const [idleTotal, slowTotal] = [Number(values.idle), Number(values.slow)];
  const prioritise = (c: ChildProcess): void => {
    if (settings.priority !== 0 && c.pid !== undefined) setPriority(c.pid, settings.priority);
  };
  // This process serves the backends: they stand for other hosts, so they get the priority too.
  if (settings.priority !== 0) setPriority(settings.priority);
  const children: ChildProcess[] = [];
  const runMs = (settings.seconds + settings.warmup + 12) * 1_000;
  const hardStopMs = 90_000 + rounds * names.length * runMs;
  const hardStop = setTimeout(() => {
    console.error('hard stop: the run took too long');
    for (const c of children) c.kill('SIGKILL');
    process.exit(2);
  }, hardStopMs);
  hardStop.unref();

  const v1 = await backend('v1');
  const v2 = await backend('v2');
  const urlOf = (s: Server): string => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  const startGw = async (): Promise<{ gw: ChildProcess; url: string }> => {
    const gw = child(['gateway', urlOf(v1), urlOf(v2), values['gateway-warm-up']]);
    children.push(gw);
    prioritise(gw);
    return { gw, url: String((await next(gw, 'ready')).url) };
  };
  const hostile = await startGw();
  const quiet = await startGw();
  const targets: Record<TargetName, Target> = {
    hostile: { name: 'hostile', url: hostile.url, gateway: hostile.gw },
    quiet: { name: 'quiet', url: quiet.url, gateway: quiet.gw },
    direct: { name: 'direct', url: urlOf(v1), gateway: null },
  };

  const port = Number(new URL(hostile.url).port);
  const addresses = Array.from({ length: 64 }, (_, i) => `127.0.0.${10 + i}`);
  const idle = spread(idleTotal, addresses.length);
  const slow = spread(slowTotal, addresses.length);
  const attackers = [0, 1, 2, 3].map((k) => {
    const mine = addresses.map((_, i) => i).filter((i) => i % 4 === k);
    const plan: Plan = {
      port,
      addresses: mine.map((i) => addresses[i]!),
      idle: mine.map((i) => idle[i]!),
      slow: mine.map((i) => slow[i]!),
      stopAfterMs: hardStopMs,
    };
    const c = child(['attacker', JSON.stringify(plan)]);
    children.push(c);
    if (settings.priority !== 0 && c.pid !== undefined) setPriority(c.pid, 0); // attackers: normal priority
    return c;
  });

  // Wait (bounded) until nearly all hostile connections are open at the gateway.
  const want = Math.floor((idleTotal + slowTotal) * 0.97);
  let gwOpen = 0;
  for (let t = 0; t < 30 && gwOpen < want; t++) {
    await sleep(1_000);
    gwOpen = Number((await ask(hostile.gw, 'stats')).open);
  }
  console.log(`hostile connections open at the gateway before users start: ${gwOpen}`);
  console.log(
    `users: ${settings.rps} rps × ${settings.seconds} s per run, ${settings.preopen} connections pre-opened, warm-up ${settings.warmup} s; ${rounds} round(s) of ${names.join(', ')} (order rotated per round)`,
  );

  const runs: Run[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = names.map((_, k) => names[(k + r) % names.length]!);
    for (const name of order) {
      const run = await measure(targets[name], settings, children);
      runs.push({ ...run, round: r + 1 });
      printRun(runs.at(-1)!, settings);
    }
  }

  const attacks = await Promise.all(
    attackers.map((c) => {
      const done = next(c, 'attack');
      c.send({ type: 'stop' });
      return done;
    }),
  );
  const final = (await ask(hostile.gw, 'stats')) as Msg & { refused: number; totals: GatewayTotals };
  const quietFinal = (await ask(quiet.gw, 'stats')) as Msg & { totals: GatewayTotals };
  // Let the gateways exit on their own (a CPU profile is written at exit), bounded.
  await Promise.all(
    [hostile.gw, quiet.gw].map((gw) => {
      const exited = new Promise<void>((resolve) => gw.once('exit', () => resolve()));
      gw.send({ type: 'stop' });
      return Promise.race([exited, sleep(15_000)]);
    }),
  );
  printSummary(runs, attacks, final, quietFinal);
  console.log(
    `machine load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (2 cores)`,
  );
  await sleep(500);
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const b of [v1, v2]) {
    b.closeAllConnections();
    b.close();
  }
  clearTimeout(hardStop);
}

const [role, ...rest] = process.argv.slice(2);
if (role === 'gateway') await gatewayRole(rest[0]!, rest[1]!, Number(rest[2]));
else if (role === 'attacker') attackerRole(JSON.parse(rest[0]!) as Plan);
else if (role === 'users') {
  await usersRole(JSON.parse(rest[0]!) as UsersPlan);
  process.exit(0);
} else await main();
