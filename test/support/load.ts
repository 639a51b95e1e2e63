/**
 * A bounded, steady load generator for end-to-end tests: `rps` requests a second from `users`
 * distinct users (sticky header) to a gateway on loopback, until stopped or `maxSeconds`.
 * Counts answers per version (from the body) and every failure a user would notice.
 */
import { Pool } from 'undici';

export interface LoadStats {
  sent: number;
  ok: number;
  /** 5xx answers and transport errors: what a user would call a failed request. */
  failed: number;
  byVersion: Map<string, number>;
  failures: string[];
  /** Requests retried once after a reused connection was closed under them (with `retryReusedOnce`). */
  retried: number;
}

export interface Load {
  readonly stats: LoadStats;
  stop(): Promise<LoadStats>;
}

/** Starts the load; bounded by `maxSeconds` (default 120 s) whatever happens. */
export function startLoad(
  url: string,
  options: { rps: number; users: number; header?: string; path?: string; maxSeconds?: number; retryReusedOnce?: boolean },
): Load {
  const pool = new Pool(url, { connections: 16, pipelining: 1 });
  const stats: LoadStats = { sent: 0, ok: 0, failed: 0, byVersion: new Map(), failures: [], retried: 0 };
  const inflight = new Set<Promise<void>>();
  const header = options.header ?? 'x-user-id';
  const deadline = Date.now() + (options.maxSeconds ?? 120) * 1000;
  let user = 0;
  const one = async (retry = false): Promise<void> => {
    const id = `user-${user++ % options.users}`;
    try {
      const res = await pool.request({
        method: 'GET',
        path: options.path ?? '/',
        headers: { [header]: id },
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      const body = (await res.body.text()).trim();
      if (res.statusCode >= 500) {
        // The app's own injected errors name their version; count them as answers of that version.
        const v = /^error from (\S+)/.exec(body)?.[1];
        if (v) stats.byVersion.set(v, (stats.byVersion.get(v) ?? 0) + 1);
        else stats.failures.push(`${res.statusCode} ${body.slice(0, 80)}`);
        if (!v) stats.failed++;
        else stats.ok++;
        return;
      }
      stats.ok++;
      stats.byVersion.set(body, (stats.byVersion.get(body) ?? 0) + 1);
    } catch (err) {
      // A kept-alive connection the server closed as this request went out (RFC 9112 §9.3.1): retry once, as browsers do.
      const code = (err as { code?: string }).code;
      if (options.retryReusedOnce && !retry && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET')) {
        stats.retried++;
        return one(true);
      }
      stats.failed++;
      stats.failures.push(String((err as Error).message));
    }
  };
  const tickMs = 50;
  const perTick = options.rps / (1000 / tickMs);
  let carry = 0;
  const timer = setInterval(() => {
    if (Date.now() > deadline) return clearInterval(timer);
    carry += perTick;
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
      await pool.close();
      return stats;
    },
  };
}
