/** The webhook destination policy (SSRF): what is refused without an allow-list, what an allow-list lets through. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileWebhookPolicy, guardedLookup, restrictedKind } from './destinations.js';

describe('webhook destinations', () => {
  it('knows loopback, link-local and unspecified addresses, IPv4-mapped forms included', () => {
    const cases: [string, string | null][] = [
      ['127.0.0.1', 'loopback'],
      ['127.255.0.9', 'loopback'],
      ['::1', 'loopback'],
      ['[::1]', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['169.254.169.254', 'link-local'],
      ['fe80::1', 'link-local'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['10.0.0.5', null],
      ['203.0.113.7', null],
      ['2001:db8::1', null],
    ];
    for (const [address, kind] of cases) assert.equal(restrictedKind(address), kind, address);
  });

  it('without an allow-list: anything but the restricted ranges (localhost names included)', () => {
    const open = compileWebhookPolicy([]);
    for (const host of ['127.0.0.1', '[::1]', 'localhost', 'api.localhost', '169.254.169.254', '0.0.0.0', '[::ffff:127.0.0.1]']) {
      assert.match(open.refusesHost(host) ?? '', /is a (loopback|link-local|unspecified) address; an admin may allow it/, host);
    }
    for (const host of ['hooks.slack.com', '10.0.0.5', '[2001:db8::1]']) assert.equal(open.refusesHost(host), null, host);
  });

  it('with an allow-list: only listed names, addresses and ranges; loopback only through an address entry', () => {
    const policy = compileWebhookPolicy(['hooks.slack.com', '*.ci.example', '10.0.0.0/8', '127.0.0.1', 'fd00::/8']);
    for (const host of ['hooks.slack.com', 'build.ci.example', '10.1.2.3', '127.0.0.1', '[fd00::5]'])
      assert.equal(policy.refusesHost(host), null, host);
    for (const host of ['evil.example', 'ci.example', '11.0.0.1', '127.0.0.2', '[::1]'])
      assert.notEqual(policy.refusesHost(host), null, host);
    assert.match(
      policy.refusesAddress('hooks.slack.com', '127.0.0.1') ?? 'allowed',
      /allowed/,
      'a listed address is allowed whatever the name',
    );
    assert.match(
      policy.refusesAddress('hooks.slack.com', '169.254.169.254') ?? '',
      /hooks\.slack\.com \(resolved\) is a link-local address/,
    );
    const local = compileWebhookPolicy(['localhost']);
    for (const host of ['localhost', '127.0.0.1', '[::1]']) assert.equal(local.refusesHost(host), null, host);
  });

  it('refuses entries that are not a name, an address or a CIDR, naming them', () => {
    assert.throws(
      () => compileWebhookPolicy(['ok.example', 'http://x/'], '--webhook-allow'),
      /^ValidationError: --webhook-allow\[1\]: "http:\/\/x\/" is not a host name/,
    );
    assert.throws(() => compileWebhookPolicy(['10.0.0.0/33']), /webhookAllow\[0\]: "10.0.0.0\/33": the prefix length must be 0..32/);
  });

  it('at connect time drops refused addresses and fails when none is left', async () => {
    const policy = compileWebhookPolicy(['hooks.example']);
    const lookup = guardedLookup(policy, (_host, _family, callback) =>
      callback(null, [
        { address: '127.0.0.1', family: 4 },
        { address: '203.0.113.9', family: 4 },
      ]),
    );
    const all = await new Promise((resolve, reject) =>
      lookup('hooks.example', { all: true }, (err, found) => (err ? reject(err) : resolve(found))),
    );
    assert.deepEqual(all, [{ address: '203.0.113.9', family: 4 }]);
    const onlyLoopback = guardedLookup(policy, (_host, _family, callback) => callback(null, [{ address: '127.0.0.1', family: 4 }]));
    const err = await new Promise<Error | null>((resolve) => onlyLoopback('hooks.example', {}, (e) => resolve(e)));
    assert.match(err?.message ?? '', /^destination refused: hooks\.example \(resolved\) is a loopback address/);
  });
});
