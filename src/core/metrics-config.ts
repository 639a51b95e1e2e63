/**
 * A service's metric source, user input compiled once into a trusted `ServiceMetrics`:
 * `{"source":"builtin"}` (the default: Tern's gateways and agents measure), or
 * `{"source":"prometheus","prometheus":{"template":"istio","params":{"namespace":"shop"},…}}`.
 * This checks the shape; whether a template's params and queries make per-version PromQL is
 * checked by the template expansion (src/providers/metrics/prometheus-templates.ts).
 */
import { ValidationError } from './errors.js';
import { PROMETHEUS_TEMPLATES, type PrometheusQueryOverrides, type PrometheusTemplate, type ServiceMetrics } from './types.js';

export const BUILTIN_METRICS: ServiceMetrics = { source: 'builtin' };
/** Prometheus' own default scrape interval. */
export const DEFAULT_SCRAPE_INTERVAL_MS = 15_000;
export const MAX_QUERY_LENGTH = 4096;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_PARAM_VALUE = 256;

export interface ServiceMetricsInput {
  readonly source: 'builtin' | 'prometheus';
  readonly prometheus?: {
    readonly url?: string;
    readonly template?: string;
    readonly params?: Readonly<Record<string, string>>;
    readonly queries?: PrometheusQueryOverrides;
    readonly scrapeIntervalMs?: number;
  };
}

/** Compiles a service's metrics settings; absent means builtin. @throws ValidationError naming the field. */
export function compileMetrics(input: ServiceMetricsInput | undefined, field = 'metrics'): ServiceMetrics {
  if (input === undefined || input.source === 'builtin') {
    if (input?.prometheus !== undefined)
      throw new ValidationError(`${field}.prometheus`, 'only a prometheus source takes prometheus settings; set source to "prometheus"');
    return BUILTIN_METRICS;
  }
  if (input.source !== 'prometheus')
    throw new ValidationError(`${field}.source`, `unknown source ${JSON.stringify(input.source)}; expected builtin or prometheus`);
  const p = input.prometheus;
  const f = `${field}.prometheus`;
  if (p === undefined)
    throw new ValidationError(f, 'a prometheus source needs its settings, at least a template (e.g. {"template":"istio"})');
  const template = p.template ?? (p.queries ? 'custom' : undefined);
  if (template === undefined || !(PROMETHEUS_TEMPLATES as readonly string[]).includes(template))
    throw new ValidationError(
      `${f}.template`,
      `${JSON.stringify(template)} is no template; expected one of ${PROMETHEUS_TEMPLATES.join(', ')}`,
    );
  const out: { -readonly [K in keyof NonNullable<ServiceMetrics['prometheus']>]: NonNullable<ServiceMetrics['prometheus']>[K] } = {
    template: template as PrometheusTemplate,
  };
  if (p.url !== undefined) out.url = compileUrl(p.url, `${f}.url`);
  if (p.params !== undefined && Object.keys(p.params).length > 0) out.params = compileParams(p.params, `${f}.params`);
  if (p.queries !== undefined && Object.keys(p.queries).length > 0) out.queries = compileQueries(p.queries, `${f}.queries`);
  if (p.scrapeIntervalMs !== undefined) {
    const ms = p.scrapeIntervalMs;
    if (!Number.isInteger(ms) || ms < 1000 || ms > 600_000 || ms % 1000 !== 0)
      throw new ValidationError(`${f}.scrapeIntervalMs`, `expected whole seconds from 1000 to 600000 ms, got ${ms}`);
    out.scrapeIntervalMs = ms;
  }
  return { source: 'prometheus', prometheus: out };
}

function compileUrl(url: string, field: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch (err) {
    throw new ValidationError(field, `"${url}" is not a URL; expected e.g. http://prometheus:9090`, undefined, { cause: err });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new ValidationError(field, `expected an http or https URL, got ${u.protocol}`);
  return url;
}

function compileParams(params: Readonly<Record<string, string>>, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if (!PARAM_NAME.test(k)) throw new ValidationError(`${field}.${k}`, 'a param name is letters, digits and _ (up to 64)');
    if (typeof v !== 'string' || v.length === 0 || v.length > MAX_PARAM_VALUE || /[\r\n]/.test(v))
      throw new ValidationError(`${field}.${k}`, `expected one line of 1 to ${MAX_PARAM_VALUE} characters`);
    out[k] = v;
  }
  return out;
}

function compileQueries(q: PrometheusQueryOverrides, field: string): PrometheusQueryOverrides {
  const out: { -readonly [K in keyof PrometheusQueryOverrides]: PrometheusQueryOverrides[K] } = {};
  for (const key of ['requests', 'errors', 'latencyBuckets'] as const) {
    const v = q[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.trim() === '' || v.length > MAX_QUERY_LENGTH)
      throw new ValidationError(`${field}.${key}`, `expected PromQL of 1 to ${MAX_QUERY_LENGTH} characters`);
    if (!v.includes('$version') && !v.includes('$role'))
      throw new ValidationError(
        `${field}.${key}`,
        `the query must name the version with $version (or $role), e.g. sum(http_requests_total{version="$version"}); got ${v}`,
      );
    out[key] = v;
  }
  if (q.latencyUnit !== undefined) {
    if (q.latencyUnit !== 's' && q.latencyUnit !== 'ms') throw new ValidationError(`${field}.latencyUnit`, 'expected s or ms');
    out.latencyUnit = q.latencyUnit;
  }
  return out;
}
