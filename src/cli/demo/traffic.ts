/**
 * The demo's simulated users: a steady stream of requests from a fixed population of users
 * (sticky by the `x-user-id` header) through the gateway, counted per version, so releases
 * have real evidence and people can see the split. Bounded: it stops when told to.
 */
import { Pool } from 'undici';

export interface Traffic {
  /** Requests and failures per version since the last call (then reset). */
  take(): Map<string, { requests: number; errors: number }>;
  stop(): Promise<void>;
}

/** Starts `rps` requests a second from `users` users against `gatewayUrl`. */
export function startTraffic(gatewayUrl: string, options: { rps: number; users: number }): Traffic {
  const pool = new Pool(gatewayUrl, { connections: 16 });
  let counts = new Map<string, { requests: number; errors: number }>();
  let next = 0;
  const inflight = new Set<Promise<void>>();
  const one = async (): Promise<void> => {
    const user = `demo-user-${next++ % options.users}`;
    try {
      const res = await pool.request({
        method: 'GET',
        path: '/checkout',
        headers: { 'x-user-id': user },
        headersTimeout: 5000,
        bodyTimeout: 5000,
      });
      const body = (await res.body.json().catch(() => ({}))) as { version?: string };
      const version = body.version ?? (res.statusCode >= 500 ? 'gateway' : 'unknown');
      const c = counts.get(version) ?? { requests: 0, errors: 0 };
      c.requests++;
      if (res.statusCode >= 500) c.errors++;
      counts.set(version, c);
    } catch {
      const c = counts.get('unreachable') ?? { requests: 0, errors: 0 };
      c.requests++;
      c.errors++;
      counts.set('unreachable', c);
    }
  };
  const perTick = options.rps / 10;
  let carry = 0;
  const timer = setInterval(() => {
    for (carry += perTick; carry >= 1; carry--) {
      const p = one().finally(() => inflight.delete(p));
      inflight.add(p);
    }
  }, 100);
  return {
    take() {
      const taken = counts;
      counts = new Map();
      return taken;
    },
    async stop() {
      clearInterval(timer);
      await Promise.all(inflight);
      await pool.close();
    },
  };
}
