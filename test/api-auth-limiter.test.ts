/**
 * Failed logins must not blind the data plane. The failed-auth limiter
 * counts per client address group (IPv6 by /64), takes the address from X-Forwarded-For only
 * behind configured trusted proxies, and never refuses a request whose token is valid — the
 * built-in gateway shares 127.0.0.1 with every local client (and a local TLS proxy).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codeOf, startHarness } from './api-harness.js';

const BAD = 'tern_not-a-real-token';

describe('failed-auth limiter', () => {
  it('keeps serving valid tokens (the gateway channel) from an address flooded with bad ones', async () => {
    const h = await startHarness();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 300; i++) {
        const bad = await h.call('GET', '/api/v1/dataplane/routing', { token: BAD, remoteAddress: '127.0.0.1' });
        assert.ok(bad.statusCode === 401 || bad.statusCode === 429, `bad token answered ${bad.statusCode}`);
        if (i % 10 === 0) {
          const routing = await h.call('GET', '/api/v1/dataplane/routing', { token: h.tokens.gateway, remoteAddress: '127.0.0.1' });
          const push = await h.call('POST', '/api/v1/dataplane/metrics', {
            token: h.tokens.gateway,
            remoteAddress: '127.0.0.1',
            body: { gateway: 'gw-1', windows: [] },
          });
          statuses.push(routing.statusCode, push.statusCode);
        }
      }
      const last = await h.call('GET', '/api/v1/services', { token: BAD, remoteAddress: '127.0.0.1' });
      assert.deepEqual([last.statusCode, codeOf(last)], [429, 'TERN_RATE_LIMITED'], 'bad tokens are still limited');
      assert.deepEqual(
        statuses.filter((s) => s !== 200 && s !== 202),
        [],
        'every gateway pull and push was served',
      );
    } finally {
      await h.close();
    }
  });

  it('counts IPv6 clients per /64, so rotating addresses inside one prefix does not escape the limit', async () => {
    const h = await startHarness({ authFailureLimit: { max: 5, windowMs: 60_000 } });
    try {
      for (let i = 1; i <= 5; i++) {
        const res = await h.call('GET', '/api/v1/services', { token: BAD, remoteAddress: `2001:db8:1:2::${i.toString(16)}` });
        assert.equal(res.statusCode, 401);
      }
      const sameNet = await h.call('GET', '/api/v1/services', { token: BAD, remoteAddress: '2001:db8:1:2:ffff:ffff:ffff:ffff' });
      assert.equal(sameNet.statusCode, 429, 'another address in the same /64 is limited');
      const otherNet = await h.call('GET', '/api/v1/services', { token: BAD, remoteAddress: '2001:db8:1:3::1' });
      assert.equal(otherNet.statusCode, 401, 'the next /64 is another client');
    } finally {
      await h.close();
    }
  });

  it('ignores X-Forwarded-For unless the peer is a trusted proxy, and then limits the forwarded client', async () => {
    const direct = await startHarness({ authFailureLimit: { max: 3, windowMs: 60_000 } });
    try {
      for (let i = 0; i < 3; i++) {
        const forged = { 'x-forwarded-for': `198.51.100.${i}` };
        await direct.call('GET', '/api/v1/services', { token: BAD, remoteAddress: '10.1.1.1', headers: forged });
      }
      const res = await direct.call('GET', '/api/v1/services', {
        token: BAD,
        remoteAddress: '10.1.1.1',
        headers: { 'x-forwarded-for': '198.51.100.99' },
      });
      assert.equal(res.statusCode, 429, 'a forged X-Forwarded-For does not reset the count');
    } finally {
      await direct.close();
    }

    const proxied = await startHarness({ authFailureLimit: { max: 3, windowMs: 60_000 }, trustedProxies: ['10.0.0.0/8'] });
    try {
      const via = (client: string) => ({ token: BAD, remoteAddress: '10.1.1.1', headers: { 'x-forwarded-for': client } });
      for (let i = 0; i < 3; i++) assert.equal((await proxied.call('GET', '/api/v1/services', via('203.0.113.7'))).statusCode, 401);
      assert.equal((await proxied.call('GET', '/api/v1/services', via('203.0.113.7'))).statusCode, 429, 'the client is limited');
      assert.equal((await proxied.call('GET', '/api/v1/services', via('203.0.113.8'))).statusCode, 401, 'not the proxy');
      const [event] = await proxied.store.listAudit({ limit: 1 });
      const create = await proxied.call('POST', '/api/v1/services', via('203.0.113.9'));
      assert.equal(create.statusCode, 401);
      const [after] = await proxied.store.listAudit({ limit: 1 });
      assert.notEqual(after?.id, event?.id);
      assert.equal(after?.source, '203.0.113.9', 'the audit names the forwarded client');
    } finally {
      await proxied.close();
    }
  });

  it('rejects a trusted proxy that is not an address or CIDR', async () => {
    await assert.rejects(startHarness({ trustedProxies: ['everyone'] }), /everyone/);
  });
});
