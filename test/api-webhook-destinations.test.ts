/**
 * Webhook destinations at the API (SSRF): a webhook to loopback, link-local or the
 * unspecified address is refused when it is configured (service create and patch, release start)
 * with a 400 naming the webhook, unless the admin's allow-list lets it; with an allow-list,
 * unlisted destinations are refused too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compileWebhookPolicy } from '../src/control/notify/destinations.js';
import { type ErrorJson, type Harness, type ReleaseJson, type ServiceJson, serviceBody, startHarness } from './api-harness.js';

describe('webhook destinations at the API, without an allow-list', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('refuses loopback, link-local and unspecified destinations, naming the webhook', async () => {
    const urls = [
      'http://127.0.0.1:9/hook',
      'http://localhost:9/',
      'http://[::1]:9/',
      'http://169.254.169.254/latest/meta-data',
      'http://0.0.0.0:80/',
      'http://[::ffff:127.0.0.1]/',
      'http://2130706433:9/',
      'http://0x7f.1/',
    ];
    for (const url of urls) {
      const res = await h.call('POST', '/api/v1/services', {
        body: serviceBody('svc', {
          webhooks: [
            { type: 'event', url: 'https://hooks.example/ok' },
            { type: 'pre-rollout', url },
          ],
        }),
      });
      assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
      const { error } = res.json<ErrorJson>();
      assert.equal(error.code, 'TERN_INVALID_REQUEST');
      assert.equal(error.details?.field, 'body.webhooks[1].url');
      assert.match(
        error.message,
        /^body\.webhooks\[1\]\.url: pre-rollout webhook .*: destination refused: .* is a (loopback|link-local|unspecified) address; an admin may allow it with tern server --webhook-allow$/,
      );
    }
    assert.equal((await h.call('GET', '/api/v1/services/svc')).statusCode, 404);
  });

  it('refuses them on patch and on release start too; public destinations are accepted', async () => {
    const created = await h.call('POST', '/api/v1/services', {
      body: serviceBody('pay', { webhooks: [{ type: 'event', url: 'https://hooks.example/ok' }] }),
    });
    assert.equal(created.statusCode, 201, created.body);
    const patched = await h.call('PATCH', '/api/v1/services/pay', {
      body: { webhooks: [{ type: 'event', url: 'http://127.0.0.1:8080/' }] },
    });
    assert.equal(patched.statusCode, 400);
    assert.equal(patched.json<ErrorJson>().error.details?.field, 'body.webhooks[0].url');
    assert.equal((await h.call('GET', '/api/v1/services/pay')).json<ServiceJson>().webhooks[0]!.url, 'https://hooks.example/ok');
    const started = await h.call('POST', '/api/v1/services/pay/releases', {
      body: { version: 'v2', endpoints: ['http://127.0.0.1:9002'], webhooks: [{ type: 'confirm-step', url: 'http://169.254.169.254/' }] },
    });
    assert.equal(started.statusCode, 400, started.body);
    assert.match(
      started.json<ErrorJson>().error.message,
      /^body\.webhooks\[0\]\.url: confirm-step webhook http:\/\/169\.254\.169\.254\/: destination refused: 169\.254\.169\.254 is a link-local address/,
    );
    assert.equal(
      (await h.call('GET', '/api/v1/services/pay/releases')).json<{ releases: unknown[] }>().releases.length,
      0,
      'no release started',
    );
  });
});

describe('webhook destinations at the API, with an allow-list', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ webhookPolicy: compileWebhookPolicy(['127.0.0.1', 'hooks.example']) });
  });
  after(() => h.close());

  it('accepts a listed loopback address and a listed name; refuses what is not listed', async () => {
    const ok = await h.call('POST', '/api/v1/services', {
      body: serviceBody('svc', {
        webhooks: [
          { type: 'pre-rollout', url: 'http://127.0.0.1:9/hook' },
          { type: 'event', url: 'https://hooks.example/x' },
        ],
      }),
    });
    assert.equal(ok.statusCode, 201, ok.body);
    const release = await h.call('POST', '/api/v1/services/svc/releases', {
      body: { version: 'v2', endpoints: ['http://127.0.0.1:9002'], webhooks: [{ type: 'event', url: 'http://127.0.0.1:7/e' }] },
    });
    assert.equal(release.statusCode, 201, release.body);
    assert.equal(release.json<ReleaseJson>().webhooks[0]!.url, 'http://127.0.0.1:7/e');
    for (const url of ['https://other.example/', 'http://127.0.0.2/', 'http://[::1]/']) {
      const res = await h.call('PATCH', '/api/v1/services/svc', { body: { webhooks: [{ type: 'event', url }] } });
      assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
      assert.match(res.json<ErrorJson>().error.message, /destination refused: .*(not on the webhook allow-list|loopback address)/);
    }
  });
});
