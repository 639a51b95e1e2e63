/**
 * The metric-source flags of `tern service create|update`: `--metrics-source
 * prometheus --prometheus-template istio --prometheus-param namespace=shop`, custom PromQL with
 * `--prometheus-query requests='sum(...{version="$version"})'`, `--prometheus-url` and
 * `--scrape-interval`. Any Prometheus flag implies `--metrics-source prometheus`; on update the
 * flags change the fields they name and keep the service's other Prometheus settings.
 */
import type { Command } from 'commander';
import { parseDuration } from '../core/duration.js';
import { UsageError } from './errors.js';
import type { ServiceView } from './views.js';

export interface MetricsFlags {
  readonly metricsSource?: string;
  readonly prometheusUrl?: string;
  readonly prometheusTemplate?: string;
  readonly prometheusParam?: string[];
  readonly prometheusQuery?: string[];
  readonly prometheusLatencyUnit?: string;
  readonly scrapeInterval?: string;
}

const QUERY_NAMES = ['requests', 'errors', 'latencyBuckets'];

/** Repeatable, each value whole: PromQL has commas, so values are never split on them. */
const each = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Adds the flags to `cmd`. */
export function addMetricsFlags(cmd: Command): Command {
  return cmd
    .option('--metrics-source <source>', 'where releases get their evidence: builtin (Tern measures) or prometheus')
    .option('--prometheus-url <url>', 'Prometheus to query for this service (default: the server’s --prometheus-url)')
    .option('--prometheus-template <name>', 'ready queries: tern-gateway, haproxy, nginx-ingress, istio, linkerd or custom')
    .option('--prometheus-param <key=value>', 'a template param, e.g. namespace=shop or backend=shop_$role (repeatable)', each)
    .option(
      '--prometheus-query <name=promql>',
      'a query (requests, errors or latencyBuckets) with $version or $role, overriding the template’s (repeatable)',
      each,
    )
    .option('--prometheus-latency-unit <unit>', 'unit of the latency buckets’ le bounds: s or ms')
    .option('--scrape-interval <duration>', 'how often Prometheus scrapes the exporter, e.g. 15s (default 15s)');
}

function pairs(list: readonly string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw new UsageError(`${flag} expects key=value, got "${item}"`);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

/** True when any metrics flag is given. */
export function touchesMetrics(o: MetricsFlags): boolean {
  return [
    o.metricsSource,
    o.prometheusUrl,
    o.prometheusTemplate,
    o.prometheusParam,
    o.prometheusQuery,
    o.prometheusLatencyUnit,
    o.scrapeInterval,
  ].some((v) => v !== undefined);
}

/**
 * The `metrics` body from the flags, over `current` (the service's metrics on update).
 * @throws UsageError for a malformed flag
 */
export function metricsFromFlags(o: MetricsFlags, current?: ServiceView['metrics']): Record<string, unknown> {
  const promFlags = [
    o.prometheusUrl,
    o.prometheusTemplate,
    o.prometheusParam,
    o.prometheusQuery,
    o.prometheusLatencyUnit,
    o.scrapeInterval,
  ];
  const source = o.metricsSource ?? (promFlags.some((v) => v !== undefined) ? 'prometheus' : current?.source);
  if (source !== 'builtin' && source !== 'prometheus') throw new UsageError(`--metrics-source is builtin or prometheus, got "${source}"`);
  if (source === 'builtin') return { source };
  const was = current?.prometheus;
  const queries = pairs(o.prometheusQuery, '--prometheus-query');
  for (const name of Object.keys(queries))
    if (!QUERY_NAMES.includes(name)) throw new UsageError(`--prometheus-query names one of ${QUERY_NAMES.join(', ')}, got "${name}"`);
  const overrides = { ...queries, ...(o.prometheusLatencyUnit === undefined ? {} : { latencyUnit: o.prometheusLatencyUnit }) };
  const prometheus: Record<string, unknown> = {
    template: o.prometheusTemplate ?? was?.template ?? (Object.keys(queries).length > 0 ? 'custom' : 'tern-gateway'),
  };
  const url = o.prometheusUrl ?? (was?.url && !was.url.includes('***') ? was.url : undefined);
  if (url) prometheus.url = url;
  const params = { ...(o.prometheusTemplate === undefined ? was?.params : {}), ...pairs(o.prometheusParam, '--prometheus-param') };
  if (Object.keys(params).length > 0) prometheus.params = params;
  if (Object.keys(overrides).length > 0) prometheus.queries = overrides;
  const scrape = o.scrapeInterval === undefined ? was?.scrapeIntervalMs : parseDuration(o.scrapeInterval, '--scrape-interval');
  if (scrape !== undefined) prometheus.scrapeIntervalMs = scrape;
  return { source, prometheus };
}

/** `prometheus (istio, every 15 s)` with its queries, or `builtin`: the `service get` lines. */
export function metricsText(m: ServiceView['metrics'] | undefined): string {
  if (!m?.prometheus) return m?.source ?? 'builtin';
  const p = m.prometheus;
  const lines = [
    `prometheus: ${p.template}${p.url ? ` at ${p.url}` : ' (server default URL)'}, scraped every ${p.scrapeIntervalMs / 1000} s`,
    ...Object.entries(p.params).map(([k, v]) => `  param ${k}=${v}`),
    `  requests: ${p.queries.requests}`,
    `  errors: ${p.queries.errors}`,
    `  latency: ${p.queries.latencyBuckets === null ? '(none)' : `${p.queries.latencyBuckets} [${p.queries.latencyUnit}]`}`,
  ];
  return lines.join('\n');
}
