/**
 * A service's metric source at the API's door and in its answers: the body's `metrics`
 * compiled (shape) and expanded through its template (per-version PromQL), so a bad template
 * param or a query without `$version` is a 400 naming the field, never a release that cannot
 * be judged; answered with the queries the source will run and the URL redacted.
 */
import type { Static } from 'typebox';
import { BUILTIN_METRICS, compileMetrics, DEFAULT_SCRAPE_INTERVAL_MS, type ServiceMetricsInput } from '../core/metrics-config.js';
import type { ServiceMetrics } from '../core/types.js';
import { redactUrl } from '../core/webhooks.js';
import { prometheusQueries } from '../providers/metrics/prometheus-templates.js';
import type { MetricsOut } from './schemas/metrics.js';

/** Compiles and checks `metrics` of service `name`. @throws ValidationError naming the field under `field`. */
export function compileServiceMetrics(name: string, input: ServiceMetricsInput | undefined, field: string): ServiceMetrics {
  const metrics = compileMetrics(input, field);
  if (metrics.prometheus) prometheusQueries(name, metrics.prometheus, `${field}.prometheus`);
  return metrics;
}

/** The service's metric source as answered. */
export function metricsJson(name: string, metrics: ServiceMetrics | undefined): Static<typeof MetricsOut> {
  const m = metrics ?? BUILTIN_METRICS;
  if (!m.prometheus) return { source: m.source };
  const q = prometheusQueries(name, m.prometheus);
  return {
    source: m.source,
    prometheus: {
      url: m.prometheus.url === undefined ? null : redactUrl(m.prometheus.url),
      template: m.prometheus.template,
      params: { ...m.prometheus.params },
      queries: { requests: q.requests, errors: q.errors, latencyBuckets: q.latencyBuckets ?? null, latencyUnit: q.latencyUnit ?? 's' },
      scrapeIntervalMs: m.prometheus.scrapeIntervalMs ?? DEFAULT_SCRAPE_INTERVAL_MS,
    },
  };
}
