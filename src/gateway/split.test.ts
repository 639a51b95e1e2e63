import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { stickyBucket } from '../core/sticky.js';
import type { BucketHash, RouteEntry } from '../core/types.js';
import { DEFAULT_POOL_SETTINGS, EndpointRegistry } from './endpoints.js';
import { compileTable } from './route-table.js';
import { decide, readCookie, userKeyOf, wireKey } from './split.js';

const req = (headers: Record<string, string>, ip = '192.0.2.1'): IncomingMessage =>
  ({ headers, socket: { remoteAddress: ip } }) as unknown as IncomingMessage;

describe('wireKey', () => {
  it('reads the UTF-8 bytes node handed over as latin1, and leaves ASCII keys alone', () => {
    const onTheWire = (key: string): string => Buffer.from(key, 'utf8').toString('latin1');
    assert.equal(wireKey(onTheWire('zoë')), 'zoë');
    assert.equal(wireKey(onTheWire('用户-7')), '用户-7');
    assert.equal(wireKey(onTheWire('🦊')), '🦊');
    assert.equal(wireKey('alice'), 'alice');
    assert.equal(wireKey('caf\xe9'), 'caf\ufffd', 'a latin1 byte that is not UTF-8 becomes U+FFFD');
  });
});

describe('readCookie', () => {
  it('finds a cookie among others, exactly by name', () => {
    assert.equal(readCookie('a=1; tern_uid=abc; b=2', 'tern_uid'), 'abc');
    assert.equal(readCookie('xtern_uid=no; tern_uid=yes', 'tern_uid'), 'yes');
    assert.equal(readCookie('tern_uid="quoted"', 'tern_uid'), 'quoted');
    assert.equal(readCookie('tern_uid=', 'tern_uid'), null);
    assert.equal(readCookie('other=1', 'tern_uid'), null);
    assert.equal(readCookie(undefined, 'tern_uid'), null);
  });
});

describe('split', () => {
  const registry = new EndpointRegistry(DEFAULT_POOL_SETTINGS);
  after(() => registry.destroyAll());
  const base: RouteEntry = {
    service: 's',
    match: { pathPrefix: '/' },
    stickiness: { header: 'X-User', cookie: 'tern_uid' },
    rules: [
      { header: 'x-tester', equals: '1', target: 'canary' },
      { cookie: 'no-canary', target: 'stable' },
    ],
    stable: { version: 'v1', endpoints: ['http://127.0.0.1:1'] },
    canary: { version: 'v2', endpoints: ['http://127.0.0.1:2'], weight: 10_000, salt: 's', releaseId: 'r' },
  };
  const compile = (e: RouteEntry) => compileTable({ version: 1, routes: [e] }, registry).match(undefined, '/')!;

  it('takes the key from the header, else the cookie, else issues a cookie', () => {
    const r = compile(base);
    assert.deepEqual(userKeyOf(r, req({ 'x-user': 'h', cookie: 'tern_uid=c' }), true), { key: 'h', issue: null });
    assert.deepEqual(userKeyOf(r, req({ cookie: 'tern_uid=c' }), true), { key: 'c', issue: null });
    const issued = userKeyOf(r, req({}), true);
    assert.equal(issued.key, issued.issue);
    assert.deepEqual(userKeyOf(r, req({}), false), { key: '192.0.2.1', issue: null });
  });

  it('uses the client IP when the service turns cookies off', () => {
    const r = compile({ ...base, stickiness: { cookie: '' } });
    assert.deepEqual(userKeyOf(r, req({}), true), { key: '192.0.2.1', issue: null });
  });

  it('applies operator rules before the weight, in order', () => {
    const zero = compile({ ...base, canary: { ...base.canary!, weight: 0 } });
    assert.equal(decide(zero, req({ 'x-tester': '1' }), true).target, 'canary');
    assert.equal(decide(zero, req({ 'x-tester': '2' }), true).target, 'stable');
    const full = compile(base);
    assert.equal(decide(full, req({ cookie: 'no-canary=x' }), true).target, 'stable');
    assert.equal(decide(full, req({ 'x-user': 'u' }), true).target, 'canary');
  });

  it('sends a canary rule to stable when there is no canary', () => {
    const r = compile({ ...base, canary: null });
    assert.equal(decide(r, req({ 'x-tester': '1' }), true).target, 'stable');
  });

  it('a ReDoS rule (^(a+)+$) costs at most 1 ms per request on a 16 KiB adversarial header', () => {
    const r = compile({
      ...base,
      canary: { ...base.canary!, weight: 0 },
      rules: [{ header: 'x-name', regex: '^(a+)+$', target: 'canary' }],
    });
    assert.equal(decide(r, req({ 'x-name': 'aaaa' }), true).target, 'canary');
    for (const value of ['a'.repeat(30) + '!', 'a'.repeat(255) + '!', 'a'.repeat(16 * 1024 - 1) + '!']) {
      const hostile = req({ 'x-name': value });
      assert.equal(decide(r, hostile, true).target, 'stable');
      const times: number[] = [];
      for (let i = 0; i < 21; i++) {
        const start = performance.now();
        decide(r, hostile, true);
        times.push(performance.now() - start);
      }
      const median = times.sort((a, b) => a - b)[10]!;
      assert.ok(median <= 1, `${value.length} characters: ${median.toFixed(3)} ms`);
    }
  });

  it("splits by the release's bucket hash: xxh32 when the table says so, murmur3 when it says nothing (tables from before migration 8)", () => {
    const salt = 'ksEl7BnKZFL_zgEcvv6eYA';
    const users = Array.from({ length: 400 }, (_, i) => `user-${i}`);
    const onCanary = (canary: RouteEntry['canary']): string[] => {
      const r = compile({ ...base, rules: [], canary });
      return users.filter((u) => decide(r, req({ 'x-user': u }), true).target === 'canary');
    };
    const half = { ...base.canary!, salt, weight: 5_000 };
    const expected = (hash: BucketHash): string[] => users.filter((u) => stickyBucket(salt, u, hash) < 5_000);
    assert.deepEqual(onCanary({ ...half, bucketHash: 'xxh32' }), expected('xxh32'));
    assert.deepEqual(onCanary({ ...half, bucketHash: 'murmur3' }), expected('murmur3'));
    assert.deepEqual(onCanary(half), expected('murmur3'));
    // The two formulas put different users on the canary: using the wrong one would move users.
    assert.notDeepEqual(expected('xxh32'), expected('murmur3'));
    // The canonical vector of the docs: salt abcdef0123456789, user alice → bucket 5475.
    const example = { ...base.canary!, salt: 'abcdef0123456789', bucketHash: 'xxh32' as const };
    assert.equal(decide(compile({ ...base, canary: { ...example, weight: 5_476 } }), req({ 'x-user': 'alice' }), true).target, 'canary');
    assert.equal(decide(compile({ ...base, canary: { ...example, weight: 5_475 } }), req({ 'x-user': 'alice' }), true).target, 'stable');
  });

  it('refuses a table whose rule the linear-time engine cannot run, naming the rule', () => {
    assert.throws(
      () => compile({ ...base, rules: [{ header: 'x', regex: '^(?!guest)', target: 'canary' }] }),
      /rules\[0\]\.regex: lookahead/,
    );
  });
});
