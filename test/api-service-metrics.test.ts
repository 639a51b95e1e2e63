/**
 * A service's metric source through the API: created and patched with a Prometheus template,
 * answered with the queries the source will run (URL credentials hidden), read back as builtin
 * when never set, and bad settings refused with a 400 naming the field.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { codeOf, type ErrorJson, type Harness, serviceBody, type ServiceJson, startHarness } from './api-harness.js';

describe('API: service metrics source', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.close());

  it('a service without metrics reads back builtin; a Prometheus one shows its expanded queries', async () => {
    const plain = await h.call('POST', '/api/v1/services', { body: serviceBody('plain') });
    assert.equal(plain.statusCode, 201, plain.body);
    assert.deepEqual(plain.json<ServiceJson>().metrics, { source: 'builtin' });
    const res = await h.call('POST', '/api/v1/services', {
      body: serviceBody('shop', {
        metrics: {
          source: 'prometheus',
          prometheus: {
            url: 'http://user:secret@prom.example:9090',
            template: 'haproxy',
            params: { backend: 'shop_$role' },
            scrapeIntervalMs: 5000,
          },
        },
      }),
    });
    assert.equal(res.statusCode, 201, res.body);
    const m = res.json<ServiceJson>().metrics;
    assert.equal(m.source, 'prometheus');
    assert.equal(m.prometheus?.template, 'haproxy');
    assert.equal(m.prometheus?.queries.requests, 'sum(haproxy_backend_http_requests_total{proxy="shop_$role"})');
    assert.equal(m.prometheus?.queries.latencyBuckets, null);
    assert.equal(m.prometheus?.scrapeIntervalMs, 5000);
    assert.ok(!m.prometheus?.url?.includes('secret'), `credentials hidden: ${m.prometheus?.url}`);
    const got = await h.call('GET', '/api/v1/services/shop');
    assert.deepEqual(got.json<ServiceJson>().metrics, m);
  });

  it('PATCH switches the source; other patches keep it', async () => {
    const res = await h.call('PATCH', '/api/v1/services/plain', {
      body: { metrics: { source: 'prometheus', prometheus: { template: 'istio', params: { namespace: 'prod' } } } },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<ServiceJson>().metrics.prometheus?.queries.latencyUnit, 'ms');
    const other = await h.call('PATCH', '/api/v1/services/plain', { body: { match: { pathPrefix: '/plain2' } } });
    assert.equal(other.json<ServiceJson>().metrics.prometheus?.template, 'istio');
    const back = await h.call('PATCH', '/api/v1/services/plain', { body: { metrics: { source: 'builtin' } } });
    assert.deepEqual(back.json<ServiceJson>().metrics, { source: 'builtin' });
  });

  for (const [what, metrics, field] of [
    [
      'a custom template without queries',
      { source: 'prometheus', prometheus: { template: 'custom' } },
      'body.metrics.prometheus.queries.requests',
    ],
    [
      'a query without $version',
      {
        source: 'prometheus',
        prometheus: { template: 'custom', queries: { requests: 'sum(http_requests_total)', errors: 'sum(e{v="$version"})' } },
      },
      'body.metrics.prometheus.queries.requests',
    ],
    [
      'a template missing a required param',
      { source: 'prometheus', prometheus: { template: 'linkerd', params: { namespace: 'x' } } },
      'body.metrics.prometheus.params.deployment',
    ],
    [
      'a param the template does not take',
      { source: 'prometheus', prometheus: { template: 'tern-gateway', params: { backend: 'x' } } },
      'body.metrics.prometheus.params.backend',
    ],
    ['a prometheus source without settings', { source: 'prometheus' }, 'body.metrics.prometheus'],
    [
      'a non-http URL',
      { source: 'prometheus', prometheus: { template: 'tern-gateway', url: 'ftp://prom' } },
      'body.metrics.prometheus.url',
    ],
    [
      'a scrape interval not in whole seconds',
      { source: 'prometheus', prometheus: { template: 'tern-gateway', scrapeIntervalMs: 1500 } },
      'body.metrics.prometheus.scrapeIntervalMs',
    ],
  ] as const) {
    it(`refuses ${what} with a 400 naming the field`, async () => {
      const res = await h.call('POST', '/api/v1/services', { body: serviceBody('bad', { metrics }) });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(codeOf(res), 'TERN_INVALID_REQUEST');
      const err = res.json<ErrorJson>().error;
      assert.ok(err.message.includes(field) || err.details?.field === field, `${field} named in ${res.body}`);
      assert.equal((await h.call('GET', '/api/v1/services/bad')).statusCode, 404);
    });
  }
});
