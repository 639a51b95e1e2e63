/**
 * A fixed-rate load that spreads over several gateways the way an L4 load balancer with health
 * checks does, for availability tests and benchmarks. Every request goes to the next
 * gateway in turn (one keep-alive pool per gateway, so connections are spread evenly); then:
 *
 * - a connect that is refused (`ECONNREFUSED`: nothing was sent, the gateway is down or
 *   restarting) goes to the next gateway, counted in `movedOn` — a balancer whose health check
 *   has not yet noticed does the same;
 * - a request written on a kept-alive connection that the gateway closed at that instant (reset,
 *   or closed before the answer began) is retried once on the next gateway, counted in `retried`
 *   (RFC 9112 §9.3.1 lets a client retry an idempotent request; browsers and most clients do);
 * - anything else — a 5xx the version app did not inject, a timeout, a second transport error —
 *   is a failed request, what a user would notice.
 *
 * Latencies are kept per request (completion time, duration) so a caller can compare the p99
 * during an event with the p99 before it. Bounded by `maxSeconds` whatever happens.
 */
import { Pool } from 'undici';

export interface BalancedStats {
  sent: number;
  ok: number;
  failed: number;
  /** Requests retried once on another gateway after their kept-alive connection was closed. */
  retried: number;
  /** Refused connects taken to another gateway (nothing had been sent). */
  movedOn: number;
  byVersion: Map<string, number>;
  /** The first 50 failures, as said. */
  failures: string[];
  /** Failures by kind: the status code or the transport error code. */
  failureKinds: Map<string, number>;
  /** When each failed request gave up (epoch ms). */
  failedAt: number[];
  /** [completed at (epoch ms), latency ms] of every answered request. */
  latencies: [number, number][];
}

export interface BalancedLoad {
  readonly stats: BalancedStats;
  stop(): Promise<BalancedStats>;
}

export interface BalancedLoadOptions {
  rps: number;
  users: number;
  header?: string;
  /** Keep-alive connections per gateway (default 128: many users, many connections, as behind a balancer). */
  connections?: number;
  /** Default 120. */
  maxSeconds?: number;
}

/** Transport errors after which nothing was received: the request may be retried elsewhere once. */
const RETRYABLE = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/** The p-th percentile (0..100) of `values`; 0 when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The p99 of the requests answered between `from` and `to` (epoch ms). */
export function p99Between(stats: BalancedStats, from: number, to: number): number {
  return percentile(
    stats.latencies.filter(([at]) => at >= from && at < to).map(([, ms]) => ms),
    99,
  );
}

/** Starts the load over `targets` (gateway base URLs). */
export function startBalancedLoad(targets: readonly string[], options: BalancedLoadOptions): BalancedLoad {
  const pools = targets.map((t) => new Pool(t, { connections: options.connections ?? 128, pipelining: 1, keepAliveTimeout: 60_000 }));
  const stats: BalancedStats = {
    sent: 0,
    ok: 0,
    failed: 0,
    retried: 0,
    movedOn: 0,
    byVersion: new Map(),
    failures: [],
    failureKinds: new Map(),
    failedAt: [],
    latencies: [],
  };
  const header = options.header ?? 'x-user-id';
  const deadline = Date.now() + (options.maxSeconds ?? 120) * 1000;
  const inflight = new Set<Promise<void>>();
  let next = 0;
  let user = 0;

  const fail = (kind: string, why: string): void => {
    stats.failed++;
    stats.failedAt.push(Date.now());
    stats.failureKinds.set(kind, (stats.failureKinds.get(kind) ?? 0) + 1);
    if (stats.failures.length < 50) stats.failures.push(why);
  };
  const one = async (): Promise<void> => {
    const id = `user-${user++ % options.users}`;
    const started = Date.now();
    let target = next++ % pools.length;
    let refused = 0;
    let retried = false;
    for (;;) {
      try {
        const res = await pools[target]!.request({
          method: 'GET',
          path: '/',
          headers: { [header]: id },
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        const body = (await res.body.text()).trim();
        const version = res.statusCode < 500 ? body : /^error from (\S+)/.exec(body)?.[1];
        if (version === undefined || res.statusCode >= 400) return fail(String(res.statusCode), `${res.statusCode} ${body.slice(0, 80)}`);
        stats.ok++;
        stats.byVersion.set(version, (stats.byVersion.get(version) ?? 0) + 1);
        stats.latencies.push([Date.now(), Date.now() - started]);
        return;
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        target = (target + 1) % pools.length;
        if (code === 'ECONNREFUSED' && ++refused < 2 * pools.length) {
          stats.movedOn++;
          continue;
        }
        if (RETRYABLE.has(code) && !retried) {
          retried = true;
          stats.retried++;
          continue;
        }
        return fail(code || 'error', `${code} ${(err as Error).message}`);
      }
    }
  };

  const tickMs = 10;
  let carry = 0;
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    if (now > deadline) return clearInterval(timer);
    // Paced by the clock, not by the ticks: a late tick sends what it owes.
    carry += ((now - last) / 1000) * options.rps;
    last = now;
    for (; carry >= 1; carry--) {
      stats.sent++;
      const p = one().finally(() => inflight.delete(p));
      inflight.add(p);
    }
  }, tickMs);

  return {
    stats,
    async stop() {
      clearInterval(timer);
      await Promise.all(inflight);
      await Promise.all(pools.map((p) => p.close()));
      return stats;
    },
  };
}
