/**
 * Ready PromQL for the exporters teams already run: a service's `metrics.prometheus`
 * names a template and its params, and gets the three cumulative queries the Prometheus source
 * reads per version (requests, 5xx errors, `le` buckets). In every query `$version` becomes the
 * version label and `$role` becomes `canary` or `stable` (for exporters that label a version by
 * its Kubernetes Service, Deployment or backend, put `$version` or `$role` in that param, e.g.
 * `backend=shop_$role`). A query that names neither would read the same series for both
 * versions, so it is refused.
 *
 * Label names, and where they were looked up:
 * - tern-gateway: src/gateway/prometheus.ts (`tern_gateway_requests_total{service,role,class}`,
 *   `tern_gateway_request_duration_seconds_bucket{service,role,le}`), labelled by role, never version.
 * - haproxy: HAProxy's built-in exporter (`http-request use-service prometheus-exporter`), names
 *   checked against a real HAProxy 2.6.12: `haproxy_backend_http_requests_total{proxy}`,
 *   `haproxy_backend_http_responses_total{proxy,code="5xx"}`; 2.6 exports only average
 *   response times, no histogram, so this template has no latency.
 * - nginx-ingress: kubernetes/ingress-nginx internal/ingress/metric/collectors/socket.go
 *   (`nginx_ingress_controller_requests` and `_request_duration_seconds` labelled
 *   status, method, path, namespace, ingress, service, canary; `status` is the code, or `5xx`
 *   with --report-status-classes).
 * - istio: https://istio.io/latest/docs/reference/config/metrics (`istio_requests_total`,
 *   `istio_request_duration_milliseconds` — milliseconds — with reporter, destination_service_name,
 *   destination_service_namespace, destination_version, response_code).
 * - linkerd: https://linkerd.io/2/reference/proxy-metrics (`response_total` with direction,
 *   namespace, deployment, classification="failure"|"success", status_code; `response_latency_ms`
 *   in milliseconds).
 */
import { ValidationError } from '../../core/errors.js';
import type { PrometheusTemplate, ServiceMetrics } from '../../core/types.js';
import type { PrometheusQueries } from './prometheus.js';

type PrometheusConfig = NonNullable<ServiceMetrics['prometheus']>;

/** Placeholders a query must use so each version reads its own series. */
export const VERSION_PLACEHOLDERS = ['$version', '$role'] as const;

/** A template: its params (required unless defaulted) and the queries built from them. */
interface TemplateSpec {
  /** Param name → default (`null` = required); `{service}` in a default is Tern's service name. */
  readonly params: Readonly<Record<string, string | null>>;
  readonly build: (p: (name: string) => string) => PrometheusQueries | null;
}

/** A param value inside a PromQL double-quoted string. */
const quote = (value: string): string => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

export const TEMPLATES: Readonly<Record<PrometheusTemplate, TemplateSpec>> = {
  'tern-gateway': {
    params: { service: '{service}' },
    build: (p) => {
      const sel = `service=${quote(p('service'))},role="$role"`;
      return {
        requests: `sum(tern_gateway_requests_total{${sel}})`,
        errors: `sum(tern_gateway_requests_total{${sel},class="5xx"})`,
        latencyBuckets: `sum by (le) (tern_gateway_request_duration_seconds_bucket{${sel}})`,
        latencyUnit: 's',
      };
    },
  },
  haproxy: {
    params: { backend: null },
    build: (p) => ({
      requests: `sum(haproxy_backend_http_requests_total{proxy=${quote(p('backend'))}})`,
      errors: `sum(haproxy_backend_http_responses_total{proxy=${quote(p('backend'))},code="5xx"})`,
    }),
  },
  'nginx-ingress': {
    params: { namespace: null, service: null },
    build: (p) => {
      const sel = `namespace=${quote(p('namespace'))},service=${quote(p('service'))}`;
      return {
        requests: `sum(nginx_ingress_controller_requests{${sel}})`,
        errors: `sum(nginx_ingress_controller_requests{${sel},status=~"5.."})`,
        latencyBuckets: `sum by (le) (nginx_ingress_controller_request_duration_seconds_bucket{${sel}})`,
        latencyUnit: 's',
      };
    },
  },
  istio: {
    params: { service: '{service}', namespace: null, version: '$version' },
    build: (p) => {
      const sel = `reporter="destination",destination_service_name=${quote(p('service'))},destination_service_namespace=${quote(p('namespace'))},destination_version=${quote(p('version'))}`;
      return {
        requests: `sum(istio_requests_total{${sel}})`,
        errors: `sum(istio_requests_total{${sel},response_code=~"5.."})`,
        latencyBuckets: `sum by (le) (istio_request_duration_milliseconds_bucket{${sel}})`,
        latencyUnit: 'ms',
      };
    },
  },
  linkerd: {
    params: { namespace: null, deployment: null },
    build: (p) => {
      const sel = `direction="inbound",namespace=${quote(p('namespace'))},deployment=${quote(p('deployment'))}`;
      return {
        requests: `sum(response_total{${sel}})`,
        errors: `sum(response_total{${sel},classification="failure"})`,
        latencyBuckets: `sum by (le) (response_latency_ms_bucket{${sel}})`,
        latencyUnit: 'ms',
      };
    },
  },
  custom: { params: {}, build: () => null },
};

/** True when `query` reads a per-version series. */
export function perVersion(query: string): boolean {
  return VERSION_PLACEHOLDERS.some((p) => query.includes(p));
}

/**
 * The queries of a service's Prometheus config: the template's, built from its params (defaults
 * filled, `{service}` = `service`), with `queries` overriding any of them.
 * @throws ValidationError naming the field (under `field`): an unknown param, a required one
 * missing, a custom template without requests and errors, a query with neither `$version` nor `$role`
 */
export function prometheusQueries(service: string, config: PrometheusConfig, field = 'metrics.prometheus'): PrometheusQueries {
  const spec = TEMPLATES[config.template];
  const given = config.params ?? {};
  for (const name of Object.keys(given)) {
    if (!(name in spec.params)) {
      const known = Object.keys(spec.params);
      throw new ValidationError(
        `${field}.params.${name}`,
        `the ${config.template} template has no param "${name}"; it takes ${known.length ? known.join(', ') : 'none (write queries instead)'}`,
      );
    }
  }
  const param = (name: string): string => {
    const value = given[name] ?? spec.params[name]?.replaceAll('{service}', service);
    if (value === undefined || value === null)
      throw new ValidationError(`${field}.params.${name}`, `the ${config.template} template needs param "${name}"`);
    return value;
  };
  const base = spec.build(param);
  const over = config.queries ?? {};
  const requests = over.requests ?? base?.requests;
  const errors = over.errors ?? base?.errors;
  if (requests === undefined || errors === undefined) {
    throw new ValidationError(
      `${field}.queries.${requests === undefined ? 'requests' : 'errors'}`,
      'the custom template needs queries.requests and queries.errors (PromQL of one version’s cumulative counters, with $version)',
    );
  }
  const latencyBuckets = over.latencyBuckets ?? base?.latencyBuckets;
  const latencyUnit = over.latencyUnit ?? (over.latencyBuckets === undefined ? base?.latencyUnit : undefined) ?? 's';
  const queries: PrometheusQueries = { requests, errors, ...(latencyBuckets === undefined ? {} : { latencyBuckets, latencyUnit }) };
  for (const key of ['requests', 'errors', 'latencyBuckets'] as const) {
    const q = queries[key];
    if (q !== undefined && !perVersion(q)) {
      const where = over[key] !== undefined ? `${field}.queries.${key}` : `${field}.params`;
      throw new ValidationError(
        where,
        `the ${key} query reads the same series for every version: ${q}; put $version (or $role) in it${over[key] === undefined ? ' through a param, e.g. backend=shop_$role' : ''}`,
      );
    }
  }
  return queries;
}
