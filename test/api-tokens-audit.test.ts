/** Tokens, the audit log's filters, feedback attribution and the failed-authentication limit. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stickyBucket } from '../src/core/sticky.js';
import {
  type AuditListJson,
  type FeedbackJson,
  type Harness,
  type TokenCreatedJson,
  codeOf,
  serviceBody,
  serviceWithRelease,
  startHarness,
} from './api-harness.js';

describe('tokens', () => {
  let h: Harness;
  before(async () => (h = await startHarness()));
  after(() => h.close());

  it('shows the secret once, authenticates with it, and stops working when revoked', async () => {
    const created = await h.call('POST', '/api/v1/tokens', { body: { name: 'ci', role: 'deployer' } });
    assert.equal(created.statusCode, 201, created.body);
    const { id, secret } = created.json<TokenCreatedJson>();
    assert.match(secret, /^tern_[A-Za-z0-9_-]{43}$/, '256 random bits, base64url');
    const list = await h.call('GET', '/api/v1/tokens');
    assert.ok(!list.body.includes(secret), 'the list never shows a secret');
    assert.ok(!list.body.includes('secretHash') && !list.body.includes('secret'), 'nor a hash');

    const used = await h.call('GET', '/api/v1/services', { token: secret });
    assert.equal(used.statusCode, 200);
    const info = (await h.store.listTokens()).find((t) => t.id === id);
    assert.ok(info?.lastUsedAt, 'last use is recorded');
    assert.equal((await h.call('GET', '/api/v1/tokens', { token: secret })).statusCode, 403, 'a deployer may not read tokens');

    assert.equal((await h.call('DELETE', `/api/v1/tokens/${id}`)).statusCode, 204);
    const refused = await h.call('GET', '/api/v1/services', { token: secret });
    assert.deepEqual([refused.statusCode, codeOf(refused)], [401, 'TERN_UNAUTHENTICATED']);
    assert.equal(refused.headers['www-authenticate'], 'Bearer realm="tern"');
    assert.equal((await h.call('DELETE', `/api/v1/tokens/${id}`)).statusCode, 404, 'revoking twice finds no active token');
    const [event] = await h.store.listAudit({ action: 'token.revoke', limit: 1 });
    assert.equal(event?.outcome, 'rejected');
  });

  it('refuses a second active token of the same name, so audit actors stay unambiguous', async () => {
    const first = await h.call('POST', '/api/v1/tokens', { body: { name: 'release-bot', role: 'deployer' } });
    assert.equal(first.statusCode, 201);
    const again = await h.call('POST', '/api/v1/tokens', { body: { name: 'release-bot', role: 'viewer' } });
    assert.deepEqual([again.statusCode, codeOf(again)], [409, 'TERN_TOKEN_EXISTS']);
    assert.equal((await h.store.listTokens()).filter((t) => t.name === 'release-bot').length, 1, 'nothing was created');
    assert.equal((await h.call('DELETE', `/api/v1/tokens/${first.json<TokenCreatedJson>().id}`)).statusCode, 204);
    assert.equal(
      (await h.call('POST', '/api/v1/tokens', { body: { name: 'release-bot', role: 'viewer' } })).statusCode,
      201,
      'free again once revoked',
    );
  });

  it('refuses to revoke the last active admin token', async () => {
    const admins = (await h.store.listTokens()).filter((t) => t.role === 'admin' && t.revokedAt === null);
    assert.equal(admins.length, 1);
    const res = await h.call('DELETE', `/api/v1/tokens/${admins[0]!.id}`);
    assert.deepEqual([res.statusCode, codeOf(res)], [409, 'TERN_LAST_ADMIN_TOKEN']);

    const second = (await h.call('POST', '/api/v1/tokens', { body: { name: 'admin-2', role: 'admin' } })).json<TokenCreatedJson>();
    assert.equal((await h.call('DELETE', `/api/v1/tokens/${admins[0]!.id}`, { token: second.secret })).statusCode, 204);
    const last = await h.call('DELETE', `/api/v1/tokens/${second.id}`, { token: second.secret });
    assert.equal(codeOf(last), 'TERN_LAST_ADMIN_TOKEN');
  });
});

describe('audit log', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await serviceWithRelease(h, 'alpha');
    await h.call('POST', '/api/v1/services', { body: serviceBody('beta') });
    await h.call('DELETE', '/api/v1/services/beta', { token: h.tokens.deployer }); // denied
  });
  after(() => h.close());

  const audit = async (query: string, token?: string) => {
    const res = await h.call('GET', `/api/v1/audit${query}`, { token: token ?? h.tokens.viewer });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<AuditListJson>().events;
  };

  it('filters by service, actor, action and time, newest first', async () => {
    assert.deepEqual(
      (await audit('?service=alpha')).map((e) => e.action),
      ['release.start', 'service.create'],
    );
    const denied = await audit('?actor=token:deployer-1');
    assert.deepEqual(
      denied.map((e) => [e.action, e.outcome, e.target, e.service, e.source]),
      [['service.delete', 'denied', 'service/beta', 'beta', '127.0.0.1']],
    );
    assert.deepEqual(
      (await audit('?action=service.create')).map((e) => e.target),
      ['service/beta', 'service/alpha'],
    );
    assert.equal((await audit('?limit=2')).length, 2);
    const all = await audit('');
    const newest = all[0]!;
    assert.ok((await audit(`?since=${encodeURIComponent(newest.at)}`)).length >= 1);
    assert.equal((await audit(`?since=${Date.parse(newest.at) + 60_000}`)).length, 0, 'epoch milliseconds work too');
    const bad = await h.call('GET', '/api/v1/audit?since=yesterday');
    assert.deepEqual([bad.statusCode, codeOf(bad)], [400, 'TERN_INVALID_REQUEST']);
    assert.equal((await h.call('GET', '/api/v1/audit?servce=alpha')).statusCode, 400, 'a misspelt filter is an error, not "no filter"');
  });
});

describe('feedback', () => {
  let h: Harness;
  let rel: string;
  before(async () => {
    h = await startHarness();
    rel = await serviceWithRelease(h, 'shop', { steps: '50,100' });
    await h.call('POST', '/api/v1/services', { body: serviceBody('quiet') });
  });
  after(() => h.close());

  const send = (service: string, body: Record<string, unknown>) =>
    h.call('POST', `/api/v1/services/${service}/feedback`, { token: h.tokens.deployer, body });

  it('is attributed to the named version, or to the one the sticky split gives the user', async () => {
    const named = await send('shop', { score: 5, version: 'v1' });
    assert.equal(named.statusCode, 202, named.body);
    assert.deepEqual(named.json(), { accepted: true, releaseId: rel, version: 'v1' });

    const salt = (await h.store.getRelease(rel))!.salt;
    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const canaryUser = users.find((u) => stickyBucket(salt, u) < 5000)!;
    const stableUser = users.find((u) => stickyBucket(salt, u) >= 5000)!;
    assert.equal((await send('shop', { score: 2, userKey: canaryUser })).json<FeedbackJson>().version, 'v2');
    assert.equal((await send('shop', { score: 4, userKey: stableUser })).json<FeedbackJson>().version, 'v1');
    assert.equal((await send('shop', { score: 3 })).json<FeedbackJson>().version, null, 'no key, no version: counted for the release only');
    assert.deepEqual((await send('quiet', { score: 4 })).json(), { accepted: true, releaseId: null, version: 'v1' });

    const windows = await h.store.listMetricWindows(rel);
    const canary = windows.filter((w) => w.version === 'v2').reduce((n, w) => n + w.feedbackCount, 0);
    assert.equal(canary, 1, "the canary user's score joined the canary evidence");
  });
});

describe('failed-authentication limit', () => {
  it('answers 429 with retry-after after too many failures from one address, never to a valid token, until the window passes', async () => {
    let now = 1_700_000_000_000;
    const h = await startHarness({ clock: () => now, authFailureLimit: { max: 3, windowMs: 60_000 } });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await h.call('GET', '/api/v1/services', { token: `tern_guess${i}` })).statusCode, 401);
      const blocked = await h.call('GET', '/api/v1/services', { token: 'tern_guess3' });
      assert.deepEqual([blocked.statusCode, codeOf(blocked)], [429, 'TERN_RATE_LIMITED']);
      assert.equal(blocked.headers['retry-after'], '60');
      assert.equal((await h.call('GET', '/api/v1/services')).statusCode, 200, 'a valid token is never refused by the limit');
      const denied = await h.call('POST', '/api/v1/services', { token: null, body: serviceBody('x') });
      assert.equal(denied.statusCode, 429);
      const [event] = await h.store.listAudit({ limit: 1 });
      assert.deepEqual([event?.action, event?.outcome], ['service.create', 'denied']);

      assert.equal(
        (await h.call('GET', '/api/v1/services', { remoteAddress: '10.9.9.9' })).statusCode,
        200,
        'other addresses are unaffected',
      );
      assert.equal((await h.call('GET', '/healthz', { token: null })).statusCode, 200, 'public routes stay open');
      now += 30_000;
      assert.equal((await h.call('GET', '/api/v1/services', { token: null })).headers['retry-after'], '30');
      now += 30_000;
      assert.equal((await h.call('GET', '/api/v1/services', { token: null })).statusCode, 401, 'the window has passed');
    } finally {
      await h.close();
    }
  });
});
