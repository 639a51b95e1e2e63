/**
 * Webhooks and deploy settings through the API: accepted and stored on services and releases,
 * answered with secrets redacted, refused with a message naming the field when they cannot
 * work; a pre-rollout webhook makes a release wait `pending` for its answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { codeOf, serviceBody, startHarness, type ErrorJson, type Harness, type ReleaseJson, type ServiceJson } from './api-harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const SLACK = 'https://hooks.slack.com/services/T0001ABCD/B0002EFGH/abcdefghijklmnopqrstuvwx';

describe('webhooks and deploy drivers in the API', () => {
  it('stores service webhooks and deploy settings, and shows them without secrets', async () => {
    const res = await h.call('POST', '/api/v1/services', {
      body: serviceBody('pay', {
        webhooks: [{ type: 'event', url: SLACK, format: 'slack' }],
        deploy: {
          driver: 'process',
          command: 'node app.js --port {port}',
          instances: 2,
          readiness: { path: '/healthz', timeout: '20s' },
          env: { DB_PASSWORD: 'hunter2' },
        },
      }),
    });
    assert.equal(res.statusCode, 201, res.body);
    const svc = res.json<ServiceJson>();
    assert.deepEqual(svc.webhooks, [
      {
        type: 'event',
        url: 'https://hooks.slack.com/services/***/***/***',
        timeout: '5s',
        timeoutMs: 5000,
        retries: 3,
        maxFailures: 5,
        format: 'slack',
        events: null,
      },
    ]);
    assert.deepEqual(svc.deploy, {
      driver: 'process',
      command: 'node app.js --port {port}',
      instances: 2,
      readiness: { path: '/healthz', timeout: '20s', timeoutMs: 20_000 },
      env: { DB_PASSWORD: '***' },
      cwd: null,
      retireAfter: '30s',
      retireAfterMs: 30_000,
    });
    assert.equal(
      JSON.stringify((await h.call('GET', '/api/v1/services/pay', { token: h.tokens.viewer })).json()).includes('hunter2'),
      false,
    );
    const patched = await h.call('PATCH', '/api/v1/services/pay', { body: { deploy: { driver: 'static' }, webhooks: [] } });
    assert.deepEqual([patched.json<ServiceJson>().deploy, patched.json<ServiceJson>().webhooks], [{ driver: 'static' }, []]);
  });

  it('a release with a pre-rollout webhook waits pending even with endpoints; its webhooks are shown', async () => {
    await h.call('POST', '/api/v1/services', { body: serviceBody('cart') });
    const res = await h.call('POST', '/api/v1/services/cart/releases', {
      body: {
        version: 'v2',
        endpoints: ['http://127.0.0.1:9002'],
        webhooks: [{ type: 'pre-rollout', url: 'https://ci.example/gate?token=abc', timeout: '2s', maxFailures: 3 }],
      },
    });
    assert.equal(res.statusCode, 201, res.body);
    const r = res.json<ReleaseJson>();
    assert.deepEqual([r.status, r.weight, r.deployment], ['pending', 0, null]);
    assert.deepEqual(r.webhooks, [
      {
        type: 'pre-rollout',
        url: 'https://ci.example/gate?token=***',
        timeout: '2s',
        timeoutMs: 2000,
        retries: 0,
        maxFailures: 3,
        format: 'json',
        events: null,
      },
    ]);
    const logs = await h.call('GET', `/api/v1/releases/${r.id}/logs`, { token: h.tokens.viewer });
    assert.deepEqual(logs.json(), { release: r.id, instances: [] });
  });

  it('a service pre-rollout webhook holds its releases too', async () => {
    await h.call('POST', '/api/v1/services', {
      body: serviceBody('search', { webhooks: [{ type: 'pre-rollout', url: 'https://ci.example/gate' }] }),
    });
    const res = await h.call('POST', '/api/v1/services/search/releases', { body: { version: 'v2', endpoints: ['http://127.0.0.1:9002'] } });
    assert.equal(res.json<ReleaseJson>().status, 'pending');
  });

  it('refuses webhooks and deploy settings that cannot work, naming the field', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      [
        '/api/v1/services/cart/releases',
        { version: 'v3', webhooks: [{ type: 'pre-promotion', url: 'https://h.example/', format: 'slack' }] },
        /^body\.webhooks\[0\]\.format: /,
      ],
      [
        '/api/v1/services/cart/releases',
        { version: 'v3', webhooks: [{ type: 'event', url: 'https://u:p@h.example/' }] },
        /^body\.webhooks\[0\]\.url: credentials/,
      ],
      [
        '/api/v1/services/cart/releases',
        { version: 'v3', webhooks: [{ type: 'gate', url: 'https://h.example/' }] },
        /^body\.webhooks\[0\]\.type: expected one of/,
      ],
      ['/api/v1/services', serviceBody('x1', { deploy: { driver: 'process', command: 'a', instances: 0 } }), /^body\.deploy/],
      [
        '/api/v1/services',
        serviceBody('x2', { deploy: { driver: 'process', command: 'a', readiness: { timeout: 'soon' } } }),
        /^body\.deploy\.readiness\.timeout: /,
      ],
    ];
    for (const [url, body, message] of cases) {
      const res = await h.call('POST', url, { body });
      assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
      assert.match(res.json<ErrorJson>().error.message, message);
      assert.ok(['TERN_INVALID_REQUEST', 'TERN_INVALID_DURATION'].includes(codeOf(res) ?? ''));
    }
  });
});
