/**
 * The normal users of bench/hostile/connections.ts: an open loop at a fixed rate through one
 * undici pool of up to 64 keep-alive connections, each request's latency counted from its
 * scheduled send time (so a stall anywhere, the client's own loop included, is counted).
 *
 * Each request is timed in parts through undici's diagnostics channels: late (scheduled → sent
 * by this loop), wait (sent → its head written on a connection: the pool's queue and, for a
 * request that opens a connection, the TCP connect), server (head written → response head read:
 * the server's accept queue, for a new connection, and its work) and whether it was the first
 * request on its connection. Requests over 50 ms are reported with these parts and their time
 * since the users started, so a tail can be placed (a cold client, a new connection, a stall).
 *
 * `preopen` connections are opened before the window starts (as many concurrent requests, whose
 * answers are not counted): users of a running service arrive with their keep-alive connections
 * already open, and each new connection costs its first request a connect and an accept.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, buildConnector, request } from 'undici';

export interface UsersPlan {
  readonly url: string;
  readonly rps: number;
  readonly seconds: number;
  /** Seconds of requests sent before the window and left out of it (0: none). */
  readonly warmupSeconds: number;
  /** Connections opened before the window (0: the pool opens them as the load needs them). */
  readonly preopen: number;
  /**
   * Another server (the backend) this client sends 1,000 requests to before the window, so its
   * own code is compiled without touching the server measured (cold-start.ts).
   */
  readonly warmClientAt?: string;
}

/** A request of the window answered more than SLOW_MS after its scheduled send time. */
export interface SlowRequest {
  /** Scheduled send time, ms since the window began. */
  readonly at: number;
  readonly ms: number;
  readonly late: number;
  readonly wait: number;
  readonly server: number;
  /** The first request on its connection. */
  readonly fresh: boolean;
  /** That connection's TCP connect, when fresh. */
  readonly connectMs: number | null;
}

export interface UsersReport {
  readonly type: 'users';
  readonly sent: number;
  readonly ok: number;
  readonly failures: Record<string, number>;
  readonly versions: Record<string, number>;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** p99 of the window's first second, and of the rest. */
  readonly p99First: number;
  readonly p99Rest: number;
  readonly sendP99: number;
  /** Connections opened before the window, and during it. */
  readonly preopened: number;
  readonly connects: number;
  readonly warm: { readonly sent: number; readonly over50: number; readonly max: number };
  readonly slow: readonly SlowRequest[];
  readonly lagP99: number;
  readonly lagMax: number;
}

export const SLOW_MS = 50;
const MAX_SLOW_LISTED = 2_000;

function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Per-request timestamps (ms, performance.now()), indexed by the request's slot. */
class Timings {
  readonly due: Float64Array;
  readonly sent: Float64Array;
  readonly head: Float64Array;
  readonly response: Float64Array;
  /** Body read, for answers 200 of the window. */
  readonly done: Float64Array;
  readonly fresh: Uint8Array;
  readonly connectMs: Float64Array;
  constructor(n: number) {
    const times = (): Float64Array => new Float64Array(n).fill(NaN);
    [this.due, this.sent, this.head, this.response, this.done, this.connectMs] = [times(), times(), times(), times(), times(), times()];
    this.fresh = new Uint8Array(n);
  }
}

/** Runs the users and sends their report to the parent process. */
export async function usersRole(plan: UsersPlan): Promise<void> {
  const { url, rps, seconds, warmupSeconds } = plan;
  const total = rps * seconds;
  // Warm-up requests (i < 0): only their failures and a latency summary are reported.
  const warm = rps * warmupSeconds;
  const t = new Timings(warm + total);
  const slot = (path: string): number => {
    const m = /^\/item\/(-?\d+)$/.exec(path);
    return m === null ? -1 : Number(m[1]) + warm;
  };
  // The TCP connect of each connection the pool opens, and how many requests each has carried.
  const base = buildConnector({});
  const connectMs = new WeakMap<Socket, number>();
  const carried = new WeakMap<Socket, number>();
  const agent = new Agent({
    connections: 64,
    localAddress: '127.0.0.1',
    keepAliveTimeout: 60_000,
    connect: (options, callback) => {
      const started = performance.now();
      base(options, (err, socket) => {
        if (socket !== null) connectMs.set(socket, performance.now() - started);
        if (err !== null) callback(err, null);
        else callback(null, socket);
      });
    },
  });
  let connects = 0;
  subscribe('undici:client:connected', () => connects++);
  subscribe('undici:client:sendHeaders', (m) => {
    const { request: req, socket } = m as { request: { path: string }; socket: Socket };
    const k = slot(req.path);
    const n = carried.get(socket) ?? 0;
    carried.set(socket, n + 1);
    if (k < 0) return;
    t.head[k] = performance.now();
    t.fresh[k] = n === 0 ? 1 : 0;
    if (n === 0) t.connectMs[k] = connectMs.get(socket) ?? NaN;
  });
  subscribe('undici:request:headers', (m) => {
    const k = slot((m as { request: { path: string } }).request.path);
    if (k >= 0) t.response[k] = performance.now();
  });

  const failures: Record<string, number> = {};
  const fail = (key: string): void => void (failures[key] = (failures[key] ?? 0) + 1);
  if (plan.warmClientAt !== undefined) {
    const base = plan.warmClientAt;
    const one = async (k: number): Promise<void> => {
      for (let i = k; i < 1_000; i += 8) await (await request(`${base}/client-warm-up/${i}`, { dispatcher: agent })).body.dump();
    };
    await Promise.all(Array.from({ length: 8 }, (_, k) => one(k))).catch((err: { code?: string }) =>
      fail(`client warm-up ${err.code ?? 'error'}`),
    );
  }
  // Open the connections users of a running service already hold: `preopen` requests at once.
  if (plan.preopen > 0) {
    const opening = Array.from({ length: plan.preopen }, (_, k) =>
      request(`${url}/preopen/${k}`, { dispatcher: agent, headersTimeout: 10_000, bodyTimeout: 10_000 })
        .then((res) => res.body.text())
        .catch((err: { code?: string }) => fail(`pre-open ${err.code ?? 'error'}`)),
    );
    await Promise.all(opening);
  }
  const preopened = plan.warmClientAt === undefined ? connects : connects - 8;
  connects = 0;

  // This process's own event-loop delay: a response it reads late is late for the user too.
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const fromSend: number[] = [];
  const versions: Record<string, number> = {};
  const warmLatency: number[] = [];
  const started = performance.now() + warmupSeconds * 1000;
  process.send?.({ type: 'window' });
  const inflight: Array<Promise<void>> = [];
  for (let i = -warm; i < total; i++) {
    const k = i + warm;
    const due = started + (i * 1000) / rps;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    t.due[k] = due;
    t.sent[k] = performance.now();
    inflight.push(
      request(`${url}/item/${i}`, {
        dispatcher: agent,
        headers: { cookie: `tern_uid=user-${i % 5_000}` },
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      })
        .then(async (res) => {
          await res.body.text();
          const now = performance.now();
          if (i < 0) {
            if (res.statusCode !== 200) fail(`warm-up status ${res.statusCode}`);
            return void warmLatency.push(now - due);
          }
          const version = String(res.headers['x-tern-version'] ?? 'direct');
          versions[version] = (versions[version] ?? 0) + 1;
          if (res.statusCode !== 200) return fail(`status ${res.statusCode}`);
          t.done[k] = now;
          fromSend.push(now - t.sent[k]!);
        })
        .catch((err: { code?: string }) => fail(err.code ?? 'error')),
    );
  }
  await Promise.race([Promise.all(inflight), sleep(15_000)]);
  await agent.close().catch(() => undefined);

  // Latency of each answered request of the window, in send order; the first second apart.
  const fromDue: number[] = [];
  const first: number[] = [];
  const rest: number[] = [];
  const slow: SlowRequest[] = [];
  for (let k = warm; k < warm + total; k++) {
    const ms = t.done[k]! - t.due[k]!;
    if (Number.isNaN(ms)) continue;
    fromDue.push(ms);
    (k - warm < rps ? first : rest).push(ms);
    if (ms <= SLOW_MS || slow.length >= MAX_SLOW_LISTED) continue;
    slow.push({
      at: t.due[k]! - started,
      ms,
      late: t.sent[k]! - t.due[k]!,
      wait: t.head[k]! - t.sent[k]!,
      server: t.response[k]! - t.head[k]!,
      fresh: t.fresh[k] === 1,
      connectMs: t.fresh[k] === 1 ? t.connectMs[k]! : null,
    });
  }
  for (const list of [fromDue, first, rest, fromSend]) list.sort((a, b) => a - b);
  const report: UsersReport = {
    type: 'users',
    sent: total,
    ok: fromDue.length,
    failures,
    versions,
    p50: quantile(fromDue, 0.5),
    p99: quantile(fromDue, 0.99),
    max: fromDue.at(-1) ?? NaN,
    p99First: quantile(first, 0.99),
    p99Rest: quantile(rest, 0.99),
    sendP99: quantile(fromSend, 0.99),
    preopened,
    connects,
    warm: { sent: warm, over50: warmLatency.filter((ms) => ms > SLOW_MS).length, max: Math.max(0, ...warmLatency) },
    slow,
    lagP99: lag.percentile(99) / 1e6,
    lagMax: lag.max / 1e6,
  };
  process.send?.(report);
}
