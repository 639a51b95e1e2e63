/**
 * Prometheus metrics for the API: a registry per app (tests build many apps in one process;
 * the global registry would refuse the second) with Node's default process metrics and an
 * HTTP request-duration histogram by method, route pattern and status.
 */
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TernApp } from './route-config.js';

/** Buckets span quick reads to the 60 s ceiling of a routing long-poll. */
const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * Registers the metrics hook and `GET /metrics` over `registry` (default: a new one); returns it.
 * `/metrics` needs a token of any role (Prometheus sends one with `authorization.credentials`)
 * unless `isPublic`: it names routes, versions and process internals an anonymous client
 * should not read.
 */
export function registerMetrics(app: TernApp, registry: Registry = new Registry(), isPublic = false): Registry {
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'tern_http_request_duration_seconds',
    help: 'Time to answer API requests, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: BUCKETS,
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.config.stream) return; // an SSE stream's lifetime is not a latency
    // The route pattern (not the URL) keeps label cardinality bounded; unknown paths share one label.
    const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
    duration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  app.get(
    '/metrics',
    {
      config: { access: isPublic ? 'public' : 'metrics' },
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics (text exposition format); any token unless the server runs with --metrics-public',
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
  return registry;
}
