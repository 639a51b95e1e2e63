/**
 * Open-loop load for bench/real: a fixed request rate per target (a service path on the gateway,
 * or a backend directly), each request from one of many distinct users (sticky header), sent on
 * a schedule that does not wait for answers (so a slow version cannot slow its own load down).
 * Bounded: every target stops at its deadline whatever happens. Records what the client saw:
 * answers per version, 5xx, transport failures, and a reservoir sample of latencies.
 */
import { Pool } from 'undici';

export interface TargetStats {
  sent: number;
  answered: number;
  /** 5xx answers (the backends' injected errors included). */
  serverErrors: number;
  /** Transport failures and timeouts: what no backend answered. */
  failed: number;
  /** Sends skipped because MAX_INFLIGHT requests were still waiting (the machine could not keep up). */
  skipped: number;
  byVersion: Map<string, number>;
  /** A uniform sample of client-side latencies in ms (reservoir, at most SAMPLE_SIZE). */
  latencies: number[];
  seen: number;
}

export interface TargetOptions {
  /** Origin, e.g. http://127.0.0.1:8080. */
  readonly origin: string;
  readonly path: string;
  readonly rps: number;
  /** Distinct user keys, drawn uniformly at random per request. */
  readonly users: number;
  readonly userPrefix: string;
  readonly header?: string;
  readonly maxSeconds: number;
}

export interface Target {
  readonly stats: TargetStats;
  stop(): Promise<TargetStats>;
}

const SAMPLE_SIZE = 50_000;
/**
 * At most this many requests of one target wait at a time; beyond it a send is skipped and
 * counted, so a starved machine shows up as a shortfall instead of an ever-growing queue.
 */
const MAX_INFLIGHT = 256;
const TICK_MS = 20;

/** Starts sending `rps` requests a second to `origin + path` until stopped or `maxSeconds`. */
export function startTarget(options: TargetOptions): Target {
  const pool = new Pool(options.origin, { connections: 64, pipelining: 1 });
  const stats: TargetStats = { sent: 0, answered: 0, serverErrors: 0, failed: 0, skipped: 0, byVersion: new Map(), latencies: [], seen: 0 };
  const inflight = new Set<Promise<void>>();
  const header = options.header ?? 'x-user-id';
  const started = Date.now();
  const deadline = started + options.maxSeconds * 1000;
  const record = (ms: number): void => {
    stats.seen++;
    if (stats.latencies.length < SAMPLE_SIZE) stats.latencies.push(ms);
    else {
      const j = Math.floor(Math.random() * stats.seen);
      if (j < SAMPLE_SIZE) stats.latencies[j] = ms;
    }
  };
  const one = async (): Promise<void> => {
    const user = `${options.userPrefix}${Math.floor(Math.random() * options.users)}`;
    const t0 = performance.now();
    try {
      const res = await pool.request({
        method: 'GET',
        path: options.path,
        headers: { [header]: user },
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      const body = (await res.body.text()).trim();
      record(performance.now() - t0);
      stats.answered++;
      if (res.statusCode >= 500) stats.serverErrors++;
      const version = /^(?:error from )?(\S+)$/.exec(body)?.[1] ?? `status ${res.statusCode}`;
      stats.byVersion.set(version, (stats.byVersion.get(version) ?? 0) + 1);
    } catch {
      stats.failed++;
    }
  };
  // Sends by the wall clock, not by ticks counted: a late tick catches up instead of losing rate.
  const timer = setInterval(() => {
    const now = Date.now();
    if (now > deadline) return clearInterval(timer);
    const due = Math.floor(((now - started) / 1000) * options.rps);
    for (; stats.sent + stats.skipped < due;) {
      if (inflight.size >= MAX_INFLIGHT) {
        stats.skipped++;
        continue;
      }
      stats.sent++;
      const p = one().finally(() => inflight.delete(p));
      inflight.add(p);
    }
  }, TICK_MS);
  return {
    stats,
    async stop() {
      clearInterval(timer);
      await Promise.all(inflight);
      await pool.close();
      return stats;
    },
  };
}

/** The q-quantile (0..1) of `values` (sorted copy), NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
