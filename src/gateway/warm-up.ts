/**
 * Warms the proxy path before the user listener opens, so a new gateway (a restart, a new
 * replica behind the balancer, a cluster worker) answers its first users as fast as a running one.
 *
 * A fresh process runs the proxy path cold: the first request through a gateway costs ~20 ms of
 * CPU (lazy compilation, undici's llhttp WebAssembly, the first upstream connection) and the next
 * few hundred about three times a warm one's (0.5–1 ms against 0.3 ms: V8 has not optimised them
 * yet). Users who arrive at 500 requests/s found the gateway unable to keep up for its first
 * second: p99 of that second 70–290 ms on a loaded 2-core machine, with or without hostile
 * connections, while the same client against the same gateway once warm saw 28–50 ms
 * (bench/hostile/connections.ts, `--targets` and rounds; docs/operations.md).
 *
 * Here the very code users will run — the listener with its gate, screen and handler, the split,
 * undici's pool and parser, the response relay — serves `requests` requests on a private loopback
 * port to a private sink, with its own table, endpoints and metrics (nothing is counted, nothing
 * reaches a real endpoint or the control plane), then is closed. Bounded by `maxMs`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import type { RoutingTable } from '../core/types.js';
import { EndpointRegistry, type PoolSettings } from './endpoints.js';
import { DEFAULT_OUTLIER_SETTINGS } from './health.js';
import type { LimitSettings } from './limits.js';
import { startProxyListener, urlOf } from './listener.js';
import { GatewayMetrics } from './metrics.js';
import { compileTable } from './route-table.js';

export { DEFAULT_WARM_UP_REQUESTS } from './limits.js';
/** Clients in flight at once during the warm-up. */
const CONCURRENCY = 8;

export interface WarmUpResult {
  /** Requests answered through the proxy path. */
  readonly requests: number;
  readonly ms: number;
}

function sink(): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    res.end('warm');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => resolve(server));
  });
}

function table(endpoint: string): RoutingTable {
  // Both arms of the split (half the users on each), a cookie issued to users who have none.
  return {
    version: 1,
    routes: [
      {
        service: 'warm-up',
        match: { pathPrefix: '/' },
        stickiness: { cookie: 'tern_uid' },
        rules: [],
        stable: { version: 'stable', endpoints: [endpoint] },
        canary: { version: 'canary', endpoints: [`${endpoint}/c`], weight: 5_000, salt: 'warm-up', releaseId: 'warm-up' },
      },
    ],
  };
}

/**
 * Serves `requests` requests through a private copy of the proxy path, then closes it.
 * Resolves early when `maxMs` passes; never throws (a failed warm-up only leaves the path cold).
 */
export async function warmUp(
  requests: number,
  settings: { readonly pool: PoolSettings; readonly limits: LimitSettings; readonly logger: Logger; readonly maxMs?: number },
): Promise<WarmUpResult> {
  const started = performance.now();
  const deadline = started + (settings.maxMs ?? 3_000);
  let done = 0;
  const upstream = await sink();
  const registry = new EndpointRegistry(settings.pool);
  const compiled = compileTable(table(urlOf('127.0.0.1', (upstream.address() as AddressInfo).port)), registry);
  const deps = {
    currentTable: () => compiled,
    metrics: new GatewayMetrics(),
    outlier: DEFAULT_OUTLIER_SETTINGS,
    exposeVersionHeader: true,
    logger: settings.logger,
    now: Date.now,
  };
  const agent = new Agent({ connections: CONCURRENCY });
  try {
    // Exclusive: in a cluster worker (`--workers`) a listen on port 0 goes through the primary,
    // which gives the same port to every worker's n-th such listen: one worker's warm-up
    // requests could reach another's private listener, closed or not.
    const proxy = await startProxyListener({ host: '127.0.0.1', port: 0, exclusive: true }, deps, settings.pool, settings.limits);
    const url = urlOf('127.0.0.1', proxy.port);
    const client = async (k: number): Promise<void> => {
      for (let i = k; i < requests && performance.now() < deadline; i += CONCURRENCY) {
        // Every third request without a cookie, so the gateway also issues one.
        const headers = i % 3 === 0 ? {} : { cookie: `tern_uid=warm-${i}` };
        const res = await request(`${url}/warm/${i}?q=${i}`, { dispatcher: agent, headers });
        await res.body.dump();
        // Counted only when it went through the proxy (the gateway names the version that answered).
        if (res.statusCode === 200 && res.headers['x-tern-version'] !== undefined) done++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, k) => client(k)));
    await proxy.close(0);
  } catch (err) {
    settings.logger.warn({ err }, 'gateway warm-up failed; the first requests will run cold');
  } finally {
    await agent.close().catch(() => undefined);
    await registry.destroyAll();
    upstream.closeAllConnections();
    upstream.close();
  }
  return { requests: done, ms: performance.now() - started };
}
