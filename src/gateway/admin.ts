/**
 * The gateway's admin listener, on its own port so it can never collide with a user route
 * (and can be kept off the public interface): `GET /metrics` (Prometheus text format),
 * `GET /healthz` (process alive), `GET /readyz` (200 once a routing table is loaded).
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { GatewayMetrics } from './metrics.js';

export interface AdminDeps {
  readonly metrics: GatewayMetrics;
  readonly ready: () => boolean;
  readonly logger: Logger;
}

function text(status: number, body: string, type = 'text/plain; charset=utf-8'): [number, Record<string, string | number>, string] {
  return [status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' }, body];
}

/** Starts the admin listener on `host:port` (0 = any free port). */
export async function startAdmin(host: string, port: number, deps: AdminDeps): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = async (): Promise<[number, Record<string, string | number>, string]> => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'method not allowed\n');
      if (path === '/metrics') return text(200, await deps.metrics.prometheus(), deps.metrics.registry.contentType);
      if (path === '/healthz') return text(200, 'ok\n');
      if (path === '/readyz') return deps.ready() ? text(200, 'ready\n') : text(503, 'no routing table yet\n');
      return text(404, 'not found; try /metrics, /healthz or /readyz\n');
    };
    answer().then(
      ([status, headers, body]) => res.writeHead(status, headers).end(req.method === 'HEAD' ? undefined : body),
      (err: unknown) => {
        deps.logger.error({ err }, 'admin request failed');
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
