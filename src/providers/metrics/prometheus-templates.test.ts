/**
 * The templates' expansion: each exporter's queries name that exporter's real series and
 * labels, read one version's own series (after `$version`/`$role` are filled), and a config
 * that would read the same series for both versions, or lacks a required param, is refused
 * with the field it names.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../core/errors.js';
import { forVersion } from './prometheus.js';
import { prometheusQueries } from './prometheus-templates.js';

const fieldOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.field;
  }
  assert.fail('expected a ValidationError');
};

describe('Prometheus templates', () => {
  it('tern-gateway reads the gateway series by role (never by version), the service defaulting to Tern’s', () => {
    const q = prometheusQueries('shop', { template: 'tern-gateway' });
    assert.equal(forVersion(q.requests, 'v2', 'canary'), 'sum(tern_gateway_requests_total{service="shop",role="canary"})');
    assert.equal(forVersion(q.errors, 'v1', 'stable'), 'sum(tern_gateway_requests_total{service="shop",role="stable",class="5xx"})');
    assert.equal(
      forVersion(q.latencyBuckets!, 'v2', 'canary'),
      'sum by (le) (tern_gateway_request_duration_seconds_bucket{service="shop",role="canary"})',
    );
    assert.equal(q.latencyUnit, 's');
    assert.equal(
      prometheusQueries('shop', { template: 'tern-gateway', params: { service: 'edge' } }).requests.includes('service="edge"'),
      true,
    );
  });

  it('haproxy reads the built-in exporter’s backend counters, 5xx by code class, and has no latency histogram', () => {
    const q = prometheusQueries('shop', { template: 'haproxy', params: { backend: 'shop_$role' } });
    assert.equal(forVersion(q.requests, 'v2', 'canary'), 'sum(haproxy_backend_http_requests_total{proxy="shop_canary"})');
    assert.equal(forVersion(q.errors, 'v1', 'stable'), 'sum(haproxy_backend_http_responses_total{proxy="shop_stable",code="5xx"})');
    assert.equal(q.latencyBuckets, undefined);
    assert.equal(
      fieldOf(() => prometheusQueries('shop', { template: 'haproxy' })),
      'metrics.prometheus.params.backend',
    );
    assert.equal(
      fieldOf(() => prometheusQueries('shop', { template: 'haproxy', params: { backend: 'shop' } })),
      'metrics.prometheus.params',
      'one backend for both versions cannot compare them',
    );
  });

  it('nginx-ingress reads requests and the duration histogram (seconds) by namespace and Kubernetes Service', () => {
    const q = prometheusQueries('shop', { template: 'nginx-ingress', params: { namespace: 'prod', service: 'shop-$version' } });
    assert.equal(forVersion(q.requests, 'v2'), 'sum(nginx_ingress_controller_requests{namespace="prod",service="shop-v2"})');
    assert.equal(forVersion(q.errors, 'v2'), 'sum(nginx_ingress_controller_requests{namespace="prod",service="shop-v2",status=~"5.."})');
    assert.equal(
      forVersion(q.latencyBuckets!, 'v1'),
      'sum by (le) (nginx_ingress_controller_request_duration_seconds_bucket{namespace="prod",service="shop-v1"})',
    );
    assert.equal(q.latencyUnit, 's');
    assert.equal(
      fieldOf(() => prometheusQueries('shop', { template: 'nginx-ingress', params: { service: 'x-$role' } })),
      'metrics.prometheus.params.namespace',
    );
  });

  it('istio reads destination-reported requests by destination_version, latency in milliseconds', () => {
    const q = prometheusQueries('reviews', { template: 'istio', params: { namespace: 'bookinfo' } });
    const sel =
      'reporter="destination",destination_service_name="reviews",destination_service_namespace="bookinfo",destination_version="v2"';
    assert.equal(forVersion(q.requests, 'v2'), `sum(istio_requests_total{${sel}})`);
    assert.equal(forVersion(q.errors, 'v2'), `sum(istio_requests_total{${sel},response_code=~"5.."})`);
    assert.equal(forVersion(q.latencyBuckets!, 'v2'), `sum by (le) (istio_request_duration_milliseconds_bucket{${sel}})`);
    assert.equal(q.latencyUnit, 'ms');
  });

  it('linkerd reads inbound responses by deployment, failures by classification, latency in milliseconds', () => {
    const q = prometheusQueries('web', { template: 'linkerd', params: { namespace: 'emojivoto', deployment: 'web-$role' } });
    const sel = 'direction="inbound",namespace="emojivoto",deployment="web-canary"';
    assert.equal(forVersion(q.requests, 'v2', 'canary'), `sum(response_total{${sel}})`);
    assert.equal(forVersion(q.errors, 'v2', 'canary'), `sum(response_total{${sel},classification="failure"})`);
    assert.equal(forVersion(q.latencyBuckets!, 'v2', 'canary'), `sum by (le) (response_latency_ms_bucket{${sel}})`);
    assert.equal(q.latencyUnit, 'ms');
  });

  it('custom needs requests and errors; overrides replace a template’s query; a param it does not take is named', () => {
    assert.equal(
      fieldOf(() => prometheusQueries('shop', { template: 'custom' })),
      'metrics.prometheus.queries.requests',
    );
    assert.equal(
      fieldOf(() => prometheusQueries('shop', { template: 'custom', queries: { requests: 'sum(x{v="$version"})' } })),
      'metrics.prometheus.queries.errors',
    );
    const custom = prometheusQueries('shop', {
      template: 'custom',
      queries: {
        requests: 'sum(x{v="$version"})',
        errors: 'sum(x{v="$version",c="5"})',
        latencyBuckets: 'sum by (le) (h{v="$version"})',
        latencyUnit: 'ms',
      },
    });
    assert.deepEqual(custom, {
      requests: 'sum(x{v="$version"})',
      errors: 'sum(x{v="$version",c="5"})',
      latencyBuckets: 'sum by (le) (h{v="$version"})',
      latencyUnit: 'ms',
    });
    const over = prometheusQueries('r', { template: 'istio', params: { namespace: 'n' }, queries: { errors: 'sum(e{v="$version"})' } });
    assert.equal(over.errors, 'sum(e{v="$version"})');
    assert.ok(over.requests.startsWith('sum(istio_requests_total'));
    assert.equal(
      fieldOf(() => prometheusQueries('r', { template: 'istio', params: { namespace: 'n', nope: '1' } })),
      'metrics.prometheus.params.nope',
    );
  });

  it('a param value is escaped inside its PromQL string', () => {
    const q = prometheusQueries('shop', { template: 'haproxy', params: { backend: 'a"b\\$role' } });
    assert.equal(forVersion(q.requests, 'v1', 'stable'), 'sum(haproxy_backend_http_requests_total{proxy="a\\"b\\\\stable"})');
  });
});
