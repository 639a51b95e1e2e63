/**
 * A new gateway's first second (regression bench for src/gateway/warm-up.ts): users arrive at
 * 500 requests/s at a gateway process that has just started, from a new client, and the bench
 * reports the p99 of that first second apart from the rest. Each round starts, in a rotated
 * order, three fresh server processes, so all three are measured interleaved on the same
 * (shared, loaded) machine:
 *   - cold:   a gateway started with `warmUpRequests: 0` (how every gateway started before);
 *   - warmed: a gateway started with the default warm-up of `tern gateway` / `tern server`;
 *   - plain:  a plain node:http server (no gateway), which shows what a new client and a new
 *             process cost on their own.
 * Same split and backends as bench/hostile/connections.ts, no hostile connections (that bench
 * showed the first-second tail with and without them). Bounded: every run ends by itself.
 *
 * The users' client is warmed on the backend first (`--client warm`, 1,000 requests there), so
 * the figures are the server's cold start, not the client's; `--client new` measures both.
 *
 *   node --import tsx bench/hostile/cold-start.ts [--rounds 3] [--rps 500] [--seconds 5] [--client warm|new] [--priority=-10]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, setPriority } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_WARM_UP_REQUESTS } from '../../src/gateway/warm-up.js';
import { usersRole, type UsersPlan, type UsersReport } from './users.js';

const SELF = fileURLToPath(import.meta.url);
type Kind = 'cold' | 'warmed' | 'plain';
type Msg = { readonly type: string } & Record<string, unknown>;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function serverRole(kind: Kind, stable: string, canary: string): Promise<void> {
  const started = performance.now();
  let url: string;
  if (kind === 'plain') {
    const server = createServer((req, res) => {
      req.resume();
      res.end('v1');
    });
    server.keepAliveTimeout = 75_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  } else {
    const { startBenchGateway } = await import('./gateway.js');
    const gw = await startBenchGateway(stable, canary, kind === 'warmed' ? DEFAULT_WARM_UP_REQUESTS : 0);
    url = gw.url;
  }
  process.on('message', () => process.send?.({ type: 'cpu', ms: cpuMs() }));
  process.send?.({ type: 'ready', url, startMs: performance.now() - started });
  setTimeout(() => process.exit(3), 120_000).unref();
}

function child(args: string[], priority: number): ChildProcess {
  const c = fork(SELF, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  if (priority !== 0 && c.pid !== undefined) setPriority(c.pid, priority);
  return c;
}

function next(c: ChildProcess, type: string, ms = 60_000): Promise<Msg> {
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

async function backend(name: string): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    res.end(name);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

interface Result {
  readonly kind: Kind;
  readonly round: number;
  readonly startMs: number;
  /** The server process's CPU in the users' first second and per second after it, ms. */
  readonly cpuFirst: number;
  readonly cpuRest: number;
  readonly users: UsersReport;
}

async function once(
  kind: Kind,
  round: number,
  backends: readonly string[],
  plan: Omit<UsersPlan, 'url'>,
  priority: number,
): Promise<Result> {
  const server = child(['server', kind, ...backends], priority);
  const ready = await next(server, 'ready');
  const cpu = async (): Promise<number> => {
    const answer = next(server, 'cpu');
    server.send({ type: 'cpu' });
    return Number((await answer).ms);
  };
  const users = child(['users', JSON.stringify({ ...plan, url: String(ready.url) })], priority);
  const done = next(users, 'users', (plan.seconds + 40) * 1_000) as Promise<Msg & UsersReport>;
  await next(users, 'window');
  const c0 = await cpu();
  await sleep(1_000);
  const c1 = await cpu();
  const report = await done;
  const c2 = await cpu();
  server.kill();
  return {
    kind,
    round,
    startMs: Number(ready.startMs),
    cpuFirst: c1 - c0,
    cpuRest: (c2 - c1) / Math.max(1, plan.seconds - 1),
    users: report,
  };
}

const f = (n: number): string => (Number.isNaN(n) ? '-' : n.toFixed(1));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      rps: { type: 'string', default: '500' },
      seconds: { type: 'string', default: '5' },
      priority: { type: 'string', default: '0' },
      // new: the users' client is new too; warm: it first sends 1,000 requests to the backend,
      // so only the server's cold start is measured.
      client: { type: 'string', default: 'warm' },
    },
  });
  const [rounds, rps, seconds, priority] = [values.rounds, values.rps, values.seconds, values.priority].map(Number) as [
    number,
    number,
    number,
    number,
  ];
  if (priority !== 0) setPriority(priority);
  const hardStop = setTimeout(() => process.exit(2), 60_000 + rounds * 3 * (seconds + 20) * 1_000);
  hardStop.unref();
  const v1 = await backend('v1');
  const v2 = await backend('v2');
  const backends = [v1, v2].map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`);
  const kinds: Kind[] = ['cold', 'warmed', 'plain'];
  const results: Result[] = [];
  console.log(
    `users: ${rps} rps × ${seconds} s from a ${values.client === 'warm' ? 'client warmed on the backend' : 'new client'} (no connection pre-opened) at a server process that has just started`,
  );
  for (let r = 1; r <= rounds; r++) {
    for (const kind of kinds.map((_, k) => kinds[(k + r - 1) % kinds.length]!)) {
      const x = await once(
        kind,
        r,
        backends,
        { rps, seconds, warmupSeconds: 0, preopen: 0, ...(values.client === 'warm' ? { warmClientAt: backends[0]! } : {}) },
        priority,
      );
      results.push(x);
      const u = x.users;
      const failed = Object.values(u.failures).reduce((a, b) => a + b, 0);
      console.log(
        `[round ${r}] ${kind.padEnd(6)} started in ${x.startMs.toFixed(0)} ms; ${u.ok}/${u.sent} ok, failures ${failed}; p99 first second ${f(u.p99First)} ms, rest ${f(u.p99Rest)}, whole ${f(u.p99)}, max ${f(u.max)}; over 50 ms ${u.slow.length}; server CPU first second ${x.cpuFirst.toFixed(0)} ms, then ${x.cpuRest.toFixed(0)} ms/s; connections opened ${u.connects}`,
      );
    }
  }
  console.log('\np99 of the first second (ms) per round, then the rest:');
  for (const kind of kinds) {
    const mine = results.filter((x) => x.kind === kind);
    console.log(
      `   ${kind.padEnd(6)} first second ${mine.map((x) => f(x.users.p99First)).join(' / ')}; rest ${mine.map((x) => f(x.users.p99Rest)).join(' / ')}; CPU first second ${mine.map((x) => x.cpuFirst.toFixed(0)).join(' / ')} ms; start ${mine.map((x) => x.startMs.toFixed(0)).join(' / ')} ms`,
    );
  }
  console.log(
    `machine load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (2 cores)`,
  );
  for (const s of [v1, v2]) {
    s.closeAllConnections();
    s.close();
  }
  clearTimeout(hardStop);
}

const [role, ...rest] = process.argv.slice(2);
if (role === 'server') await serverRole(rest[0] as Kind, rest[1]!, rest[2]!);
else if (role === 'users') {
  await usersRole(JSON.parse(rest[0]!) as UsersPlan);
  process.exit(0);
} else await main();
