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
 * The clients need several processes (20,000 descriptors per process) and several loopback
 * source addresses (≈28,000 ports per source/destination pair): four attacker processes share
 * 64 addresses 127.0.0.10–73, ≤ 251 connections each (under the per-client cap, so the total
 * and the timeouts are what is measured); users come from 127.0.0.1.
 * Every loop is bounded in count and time; the whole run stops itself after 4 minutes.
 *
 *   node --import tsx bench/hostile/connections.ts [--idle 15000] [--slow 1000] [--rps 500] [--seconds 30] [--warmup 2] [--priority=-10]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg, setPriority } from 'node:os';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Agent, request } from 'undici';

const SELF = fileURLToPath(import.meta.url);
const HARD_STOP_MS = 240_000;
type Msg = { readonly type: string } & Record<string, unknown>;

/** Connections this machine's listeners dropped because their accept queue was full (Linux). */
function listenOverflows(): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('TcpExt:'));
  const [names, values] = lines.map((l) => l.split(/\s+/));
  const i = names?.indexOf('ListenOverflows') ?? -1;
  return i < 0 ? NaN : Number(values?.[i]);
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

// ---------------------------------------------------------------------------------------------
// Role: the gateway under test, its own process with the default limits.
async function gatewayRole(stable: string, canary: string): Promise<void> {
  const { startGateway } = await import('../../src/gateway/gateway.js');
  const gw = await startGateway({
    host: '127.0.0.1',
    port: 0,
    admin: false,
    exposeVersionHeader: true,
    logger: pino({ level: 'warn' }),
    initialTable: {
      version: 1,
      routes: [
        {
          service: 'shop',
          match: { pathPrefix: '/' },
          stickiness: { cookie: 'tern_uid' },
          rules: [],
          stable: { version: 'v1', endpoints: [stable] },
          canary: { version: 'v2', endpoints: [canary], weight: 2_000, salt: 'hostile', releaseId: 'rel-hostile' },
        },
      ],
    },
  });
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
}

function attackerRole(plan: Plan): void {
  const deadline = Date.now() + HARD_STOP_MS;
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
  setTimeout(() => process.exit(3), HARD_STOP_MS + 10_000).unref();
}

// ---------------------------------------------------------------------------------------------
// Role: normal users, open loop at a fixed rate; latency counted from the scheduled send time.
async function usersRole(url: string, rps: number, seconds: number, warmupSeconds: number): Promise<void> {
  const agent = new Agent({ connections: 64, localAddress: '127.0.0.1', keepAliveTimeout: 60_000 });
  // New connections the users opened (each waits in the gateway's accept queue with the attackers').
  let connects = 0;
  subscribe('undici:client:connected', () => connects++);
  // This process's own event-loop delay: a response it reads late is late for the user too.
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const fromDue: number[] = [];
  /** Requests over 50 ms, by second of the run. */
  const slowBySecond: number[] = [];
  const fromSend: number[] = [];
  const failures: Record<string, number> = {};
  const versions: Record<string, number> = {};
  const total = rps * seconds;
  // Warm-up requests (i < 0) open the users' connections and warm the proxy path; only their
  // failures and latency summary are reported.
  const warm = rps * warmupSeconds;
  const warmLatency: number[] = [];
  const started = performance.now() + warmupSeconds * 1000;
  const inflight: Array<Promise<void>> = [];
  for (let i = -warm; i < total; i++) {
    const due = started + (i * 1000) / rps;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const sent = performance.now();
    inflight.push(
      request(`${url}/item/${i}`, {
        dispatcher: agent,
        headers: { cookie: `tern_uid=user-${i % 5_000}` },
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      })
        .then(async (res) => {
          await res.body.text();
          if (i < 0) {
            if (res.statusCode !== 200)
              failures[`warm-up status ${res.statusCode}`] = (failures[`warm-up status ${res.statusCode}`] ?? 0) + 1;
            return void warmLatency.push(performance.now() - due);
          }
          const version = String(res.headers['x-tern-version'] ?? 'direct');
          versions[version] = (versions[version] ?? 0) + 1;
          if (res.statusCode !== 200) failures[`status ${res.statusCode}`] = (failures[`status ${res.statusCode}`] ?? 0) + 1;
          else {
            const now = performance.now();
            fromDue.push(now - due);
            if (now - due > 50) slowBySecond[Math.floor(i / rps)] = (slowBySecond[Math.floor(i / rps)] ?? 0) + 1;
            fromSend.push(now - sent);
          }
        })
        .catch((err: { code?: string }) => {
          failures[err.code ?? 'error'] = (failures[err.code ?? 'error'] ?? 0) + 1;
        }),
    );
  }
  await Promise.race([Promise.all(inflight), sleep(15_000)]);
  await agent.close().catch(() => undefined);
  fromDue.sort((a, b) => a - b);
  fromSend.sort((a, b) => a - b);
  process.send?.({
    type: 'users',
    sent: total,
    ok: fromDue.length,
    failures,
    versions,
    p50: quantile(fromDue, 0.5),
    p99: quantile(fromDue, 0.99),
    max: fromDue.at(-1) ?? NaN,
    sendP50: quantile(fromSend, 0.5),
    sendP99: quantile(fromSend, 0.99),
    connects,
    warm: { sent: warm, over50: warmLatency.filter((ms) => ms > 50).length, max: Math.max(0, ...warmLatency) },
    slowBySecond: Array.from(slowBySecond, (n) => n ?? 0),
    lagP99: lag.percentile(99) / 1e6,
    lagMax: lag.max / 1e6,
    seconds: (performance.now() - started) / 1000 + warmupSeconds,
  });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator.
function child(args: string[]): ChildProcess {
  // TERN_BENCH_PROFILE=DIR writes a CPU profile of the gateway process there.
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      idle: { type: 'string', default: '15000' },
      slow: { type: 'string', default: '1000' },
      rps: { type: 'string', default: '500' },
      seconds: { type: 'string', default: '30' },
      // Users already using the site when the window starts: their connections open, the proxy
      // path warm (0: measure a cold start, whose first second dominates the tail).
      warmup: { type: 'string', default: '2' },
      // e.g. -10: the gateway and the user clients get the CPU before the co-located attackers
      // and other jobs, which is what a dedicated gateway host gives them (needs privileges).
      priority: { type: 'string', default: '0' },
    },
  });
  const priority = Number(values.priority);
  const prioritise = (c: ChildProcess): void => {
    if (priority !== 0 && c.pid !== undefined) setPriority(c.pid, priority);
  };
  // This process serves the backends: they stand for other hosts, so they get the priority too.
  if (priority !== 0) setPriority(priority);
  const [idleTotal, slowTotal, rps, seconds] = [values.idle, values.slow, values.rps, values.seconds].map(Number) as [
    number,
    number,
    number,
    number,
  ];
  const children: ChildProcess[] = [];
  const hardStop = setTimeout(() => {
    console.error('hard stop: the run took too long');
    for (const c of children) c.kill('SIGKILL');
    process.exit(2);
  }, HARD_STOP_MS);
  hardStop.unref();

  const v1 = await backend('v1');
  const v2 = await backend('v2');
  const urlOf = (s: Server): string => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  const gw = child(['gateway', urlOf(v1), urlOf(v2)]);
  children.push(gw);
  prioritise(gw);
  const { url } = (await next(gw, 'ready')) as Msg & { url: string };
  const port = Number(new URL(url).port);

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
    };
    const c = child(['attacker', JSON.stringify(plan)]);
    children.push(c);
    if (priority !== 0 && c.pid !== undefined) setPriority(c.pid, 0); // attackers: normal priority
    return c;
  });

  // Wait (bounded) until nearly all hostile connections are open at the gateway.
  const want = Math.floor((idleTotal + slowTotal) * 0.97);
  let gwOpen = 0;
  for (let t = 0; t < 30 && gwOpen < want; t++) {
    await sleep(1_000);
    gwOpen = Number((await ask(gw, 'stats')).open);
  }
  console.log(`hostile connections open at the gateway before users start: ${gwOpen}`);

  const overflowsBefore = listenOverflows();
  gw.send({ type: 'mark' });
  const users = child(['users', url, String(rps), String(seconds), values.warmup]);
  children.push(users);
  prioritise(users);
  const warmup = Number(values.warmup);
  const usersDone = next(users, 'users', (seconds + warmup + 40) * 1_000);
  // The loop-delay window starts with the measured requests, after the warm-up.
  setTimeout(() => gw.send({ type: 'mark' }), warmup * 1_000).unref();
  const samples: Array<{ open: number; fds: number; busy: number; lagP99: number; lagMax: number; cpu: number; at: number }> = [];
  let finished = false;
  void usersDone.finally(() => (finished = true)).catch(() => undefined);
  for (let t = 0; t < seconds + warmup + 30 && !finished; t++) {
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
  const overflows = listenOverflows() - overflowsBefore;
  const inGateway = ((await ask(gw, 'durations')) as Msg & { le: Record<string, number> }).le;
  const loop = (await ask(gw, 'stats')).window as { p50: number; p99: number; max: number };
  const u = (await usersDone) as Msg & {
    p50: number;
    p99: number;
    max: number;
    sendP50: number;
    sendP99: number;
    lagP99: number;
    lagMax: number;
    slowBySecond: number[];
    warm: { sent: number; over50: number; max: number };
    failures: Record<string, number>;
  };

  // The same users straight to the stable backend, attack still running: what this machine's
  // load (shared cores) costs any client here, gateway or not.
  const direct = child(['users', urlOf(v1), String(rps), String(seconds), values.warmup]);
  children.push(direct);
  prioritise(direct);
  const d = (await next(direct, 'users', (seconds + warmup + 40) * 1_000)) as typeof u;

  const attacks = await Promise.all(
    attackers.map((c) => {
      const done = next(c, 'attack');
      c.send({ type: 'stop' });
      return done;
    }),
  );
  const final = (await ask(gw, 'stats')) as Msg & { refused: number; totals: Array<{ version: string; requests: number; errors: number }> };
  // Let the gateway exit on its own (a CPU profile is written at exit), bounded.
  const gwExited = new Promise<void>((resolve) => gw.once('exit', () => resolve()));
  gw.send({ type: 'stop' });
  await Promise.race([gwExited, sleep(15_000)]);
  const sum = (k: string): number => attacks.reduce((n, a) => n + Number(a[k] ?? 0), 0);
  const max = (k: string): number => Math.max(...attacks.map((a) => Number(a[k])).filter((n) => !Number.isNaN(n)));
  const opens = samples.map((s) => s.open);
  const cpuUsed = (samples.at(-1)?.cpu ?? 0) - (samples[0]?.cpu ?? 0);
  const wallSeconds = ((samples.at(-1)?.at ?? 0) - (samples[0]?.at ?? 0)) / 1000;
  const busy = samples.map((s) => s.busy).sort((a, b) => a - b);
  const lags = samples.map((s) => s.lagP99).sort((a, b) => a - b);
  const failed = Object.values(u.failures).reduce((a, b) => a + b, 0);

  console.log(
    `users: ${String(u.ok)}/${String(u.sent)} ok at ${rps} rps over ${seconds} s; failures ${failed} ${JSON.stringify(u.failures)}`,
  );
  console.log(
    `users latency p50 ${u.p50.toFixed(1)} ms, p99 ${u.p99.toFixed(1)} ms, max ${u.max.toFixed(1)} ms (from the scheduled send time)`,
  );
  console.log(
    `users latency from the actual send: p50 ${u.sendP50.toFixed(1)} ms, p99 ${u.sendP99.toFixed(1)} ms; the users' own event-loop delay p99 ${u.lagP99.toFixed(1)} ms, max ${u.lagMax.toFixed(1)} ms`,
  );
  console.log(
    `users' warm-up before the window (--warmup ${values.warmup} s): ${u.warm.sent} requests, ${u.warm.over50} over 50 ms, max ${u.warm.max.toFixed(1)} ms`,
  );
  console.log(`users per version: ${JSON.stringify(u.versions)}; connections the users opened: ${String(u.connects)}`);
  const over = (bound: string): number => (inGateway['+Inf'] ?? 0) - (inGateway[bound] ?? 0);
  console.log(
    `the gateway's own request durations (received → answered): ${over('0.05')} over 50 ms, ${over('0.25')} over 250 ms, of ${inGateway['+Inf'] ?? 0}`,
  );
  console.log(
    `per second, users' requests over 50 ms / gateway loop delay max (ms): ${samples
      .slice(warmup, warmup + seconds)
      .map((x, k) => `${u.slowBySecond[k] ?? 0}/${x.lagMax.toFixed(0)}`)
      .join(' ')}`,
  );
  console.log(`accept-queue overflows on this machine while users ran (TcpExt ListenOverflows): ${overflows}`);
  console.log(
    `baseline, same users straight to the backend (attack running): ${String(d.ok)}/${String(d.sent)} ok, p50 ${d.p50.toFixed(1)} ms, p99 ${d.p99.toFixed(1)} ms (from send: p99 ${d.sendP99.toFixed(1)} ms)`,
  );
  console.log(
    `gateway open connections while users ran: min ${Math.min(...opens)}, max ${Math.max(...opens)}; descriptors max ${Math.max(...samples.map((s) => s.fds))}`,
  );
  console.log(
    `gateway while users ran: CPU ${(cpuUsed / Math.max(1, wallSeconds)).toFixed(2)} core-seconds/s, event loop busy median ${quantile(busy, 0.5).toFixed(2)} max ${(busy.at(-1) ?? NaN).toFixed(2)}, per-second lag p99 median ${quantile(lags, 0.5).toFixed(0)} ms max ${(lags.at(-1) ?? NaN).toFixed(0)} ms`,
  );
  console.log(
    `gateway event-loop delay while users ran (monitorEventLoopDelay, 1 ms resolution): p50 ${loop.p50.toFixed(1)} ms, p99 ${loop.p99.toFixed(1)} ms, max ${loop.max.toFixed(1)} ms`,
  );
  console.log(
    `machine load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (2 cores)`,
  );
  console.log(
    `hostile connections opened ${sum('opened')}, closed by the gateway with 408: ${sum('got408')}, refused 503: ${sum('got503')}, connect errors ${sum('connectErrors')} ${JSON.stringify(attacks.map((a) => a.errorCodes))}`,
  );
  console.log(
    `idle connections closed by the gateway: ${sum('idleClosed')}, lifetime p50 of one attacker ${Number(attacks[0]?.idleP50).toFixed(0)} ms, max ${max('idleMax').toFixed(0)} ms (headers timeout 10000 ms)`,
  );
  console.log(`slow-header connections closed by the gateway: ${sum('slowClosed')}, lifetime max ${max('slowMax').toFixed(0)} ms`);
  console.log(`gateway refused connections (caps): ${final.refused}`);
  console.log(
    `gateway per-version totals: ${JSON.stringify(final.totals.map((t) => ({ version: t.version, requests: t.requests, errors: t.errors })))}`,
  );
  const errors = final.totals.reduce((n, t) => n + t.errors, 0);
  const pass = u.p99 <= 50 && failed === 0 && errors === 0 && max('idleMax') <= 11_500;
  console.log(`target (p99 ≤ 50 ms, 0 failures, idle closed ≤ 11.5 s, 0 version errors): ${pass ? 'MET' : 'NOT MET'}`);
  await sleep(500);
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  v1.closeAllConnections();
  v2.closeAllConnections();
  v1.close();
  v2.close();
  clearTimeout(hardStop);
}

const [role, ...rest] = process.argv.slice(2);
if (role === 'gateway') await gatewayRole(rest[0]!, rest[1]!);
else if (role === 'attacker') attackerRole(JSON.parse(rest[0]!) as Plan);
else if (role === 'users') {
  await usersRole(rest[0]!, Number(rest[1]), Number(rest[2]), Number(rest[3]));
  process.exit(0);
} else await main();
