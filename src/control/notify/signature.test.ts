/** The webhook signature scheme: what signs verifies; a changed body, another secret, a stale or future time does not. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signBody, verifySignature } from './signature.js';

const secret = 'whsec-test';
const body = '{"event":"release.start"}';
const at = 1_800_000_000_000;

describe('webhook signatures', () => {
  it('verifies what it signed, with the documented format', () => {
    const header = signBody(secret, body, at);
    assert.match(header, /^t=1800000000,v1=[0-9a-f]{64}$/);
    assert.equal(verifySignature(secret, header, body, { now: at + 1000 }), true);
    assert.equal(verifySignature(secret, header, Buffer.from(body), { now: at }), true);
  });

  it('rejects a tampered body, another secret, a missing or malformed header', () => {
    const header = signBody(secret, body, at);
    assert.equal(verifySignature(secret, header, body.replace('start', 'promote'), { now: at }), false);
    assert.equal(verifySignature('other', header, body, { now: at }), false);
    assert.equal(verifySignature(secret, undefined, body, { now: at }), false);
    assert.equal(verifySignature(secret, 'v1=abc', body, { now: at }), false);
    assert.equal(verifySignature(secret, header.replace(/t=\d+/, `t=${at / 1000 + 1}`), body, { now: at }), false);
  });

  it('rejects a replay once the timestamp is older than the tolerance (and one from the future)', () => {
    const header = signBody(secret, body, at);
    assert.equal(verifySignature(secret, header, body, { now: at + 300_000 }), true);
    assert.equal(verifySignature(secret, header, body, { now: at + 301_000 }), false);
    assert.equal(verifySignature(secret, header, body, { now: at + 61_000, toleranceSec: 60 }), false);
    assert.equal(verifySignature(secret, header, body, { now: at - 301_000 }), false);
  });

  it('accepts any of several v1 signatures (secret rotation)', () => {
    const header = signBody(secret, body, at);
    const rotated = `${header},v1=${'0'.repeat(64)}`;
    assert.equal(verifySignature(secret, rotated, body, { now: at }), true);
  });
});
