/**
 * The metric-source flags of `tern service create|update` become the API's `metrics` body: any
 * Prometheus flag means a Prometheus source, params and queries are key=value pairs, an update
 * keeps the Prometheus settings it does not name, and `--metrics-source builtin` drops them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from './errors.js';
import { metricsFromFlags, touchesMetrics } from './metrics-flags.js';

describe('metrics flags', () => {
  it('builds a Prometheus source from a template and params', () => {
    assert.deepEqual(
      metricsFromFlags({ prometheusTemplate: 'istio', prometheusParam: ['namespace=shop', 'service=reviews'], scrapeInterval: '5s' }),
      {
        source: 'prometheus',
        prometheus: { template: 'istio', params: { namespace: 'shop', service: 'reviews' }, scrapeIntervalMs: 5000 },
      },
    );
  });

  it('queries alone mean custom; a query value may hold = signs', () => {
    const m = metricsFromFlags({ prometheusQuery: ['requests=sum(x{v="$version"})', 'errors=sum(x{v="$version",c=~"5.."})'] });
    assert.deepEqual(m, {
      source: 'prometheus',
      prometheus: { template: 'custom', queries: { requests: 'sum(x{v="$version"})', errors: 'sum(x{v="$version",c=~"5.."})' } },
    });
  });

  it('an update keeps what it does not name; builtin drops the rest', () => {
    const current = {
      source: 'prometheus',
      prometheus: {
        url: 'http://prom:9090',
        template: 'haproxy',
        params: { backend: 'shop_$role' },
        queries: { requests: 'a', errors: 'b', latencyBuckets: null, latencyUnit: 's' },
        scrapeIntervalMs: 15000,
      },
    };
    assert.deepEqual(metricsFromFlags({ scrapeInterval: '2s' }, current), {
      source: 'prometheus',
      prometheus: { template: 'haproxy', url: 'http://prom:9090', params: { backend: 'shop_$role' }, scrapeIntervalMs: 2000 },
    });
    assert.deepEqual(metricsFromFlags({ metricsSource: 'builtin' }, current), { source: 'builtin' });
    assert.equal(touchesMetrics({}), false);
  });

  it('refuses malformed flags', () => {
    assert.throws(() => metricsFromFlags({ prometheusParam: ['novalue'] }), UsageError);
    assert.throws(() => metricsFromFlags({ prometheusQuery: ['latency=x'] }), UsageError);
    assert.throws(() => metricsFromFlags({ metricsSource: 'datadog' }), UsageError);
  });
});
