import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressGroup, checkTrustedProxies } from './client-address.js';

describe('client address groups', () => {
  it('groups IPv6 addresses by /64 and keeps IPv4 addresses apart', () => {
    assert.equal(addressGroup('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressGroup('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
    assert.equal(addressGroup('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressGroup('::1'), '0:0:0:0::/64');
    assert.equal(addressGroup('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(addressGroup('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(addressGroup('10.1.2.3'), '10.1.2.3');
    assert.notEqual(addressGroup('10.1.2.3'), addressGroup('10.1.2.4'));
  });

  it('accepts addresses and CIDRs as trusted proxies and names a bad one', () => {
    assert.doesNotThrow(() => checkTrustedProxies(['10.0.0.0/8', '127.0.0.1', 'fd00::/8', '::1']));
    assert.throws(() => checkTrustedProxies(['10.0.0.0/33']), /10\.0\.0\.0\/33/);
    assert.throws(() => checkTrustedProxies(['loopback']), /loopback/);
  });
});
