/** Schemas of a service's metric source: builtin, or Prometheus with a template (docs/metrics.md). */
import { Type } from 'typebox';
import { PROMETHEUS_TEMPLATES } from '../../core/types.js';

const Query = Type.String({
  minLength: 1,
  maxLength: 4096,
  description: 'PromQL of one version’s cumulative series; $version becomes the version label, $role canary or stable',
});

const Queries = Type.Object(
  {
    requests: Type.Optional(Query),
    errors: Type.Optional(Query),
    latencyBuckets: Type.Optional(Query),
    latencyUnit: Type.Optional(Type.Enum(['s', 'ms'], { description: 'unit of the le bounds (default s)' })),
  },
  { additionalProperties: false, description: 'override any of the template’s queries (all of requests and errors for custom)' },
);

const PrometheusIn = Type.Object(
  {
    url: Type.Optional(Type.String({ maxLength: 2048, description: 'Prometheus base URL; default the server’s --prometheus-url' })),
    template: Type.Optional(Type.Enum([...PROMETHEUS_TEMPLATES], { description: 'ready queries for an exporter, or custom' })),
    params: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' }), Type.String({ minLength: 1, maxLength: 256 }), {
        maxProperties: 16,
        additionalProperties: false,
        description: 'the template’s params, e.g. {"namespace":"shop"}; a value may hold $version or $role',
      }),
    ),
    queries: Type.Optional(Queries),
    scrapeIntervalMs: Type.Optional(
      Type.Integer({ minimum: 1000, maximum: 600_000, description: 'how often Prometheus scrapes the exporter (default 15000)' }),
    ),
  },
  { additionalProperties: false },
);

export const MetricsIn = Type.Object(
  {
    source: Type.Enum(['builtin', 'prometheus'], { description: 'builtin: Tern’s gateways and agents; prometheus: the queries below' }),
    prometheus: Type.Optional(PrometheusIn),
  },
  { additionalProperties: false, description: 'where the service’s releases get their evidence (default builtin)' },
);

export const MetricsOut = Type.Object({
  source: Type.String(),
  prometheus: Type.Optional(
    Type.Object({
      url: Type.Union([Type.String({ description: 'credentials and token-like parts shown as ***' }), Type.Null()]),
      template: Type.String(),
      params: Type.Record(Type.String(), Type.String()),
      queries: Type.Object(
        {
          requests: Type.String(),
          errors: Type.String(),
          latencyBuckets: Type.Union([Type.String(), Type.Null()]),
          latencyUnit: Type.String(),
        },
        { description: 'the queries the source runs (template expanded, overrides applied)' },
      ),
      scrapeIntervalMs: Type.Integer(),
    }),
  ),
});
