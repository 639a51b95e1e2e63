import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCanary, murmur3, stickyBucket } from './sticky.js';

/** Hashes a string whose code units are all bytes, by re-encoding each unit as one byte. */
function murmur3Bytes(latin1: string): number {
  // Latin-1 units >= 0x80 would be UTF-8 encoded by murmur3; compare against Buffer-level reference instead.
  return murmur3Reference(Buffer.from(latin1, 'latin1'));
}

/** Straightforward byte-array MurmurHash3 x86_32, as in the reference C code. */
function murmur3Reference(bytes: Buffer, seed = 0): number {
  let h = seed >>> 0;
  const blocks = bytes.length >> 2;
  const mix = (k: number): number => Math.imul((Math.imul(k, 0xcc9e2d51) << 15) | (Math.imul(k, 0xcc9e2d51) >>> 17), 0x1b873593);
  for (let i = 0; i < blocks; i++) {
    h ^= mix(bytes.readUInt32LE(i * 4));
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let tail = 0;
  for (let i = bytes.length & 3; i > 0; i--) tail |= bytes[blocks * 4 + i - 1]! << ((i - 1) * 8);
  if (bytes.length & 3) h ^= mix(tail);
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

describe('sticky split', () => {
  it('is deterministic per (salt, user) and differs across salts', () => {
    assert.equal(stickyBucket('salt-a', 'user-1'), stickyBucket('salt-a', 'user-1'));
    let differ = 0;
    for (let i = 0; i < 100; i++) if (stickyBucket('salt-a', `u${i}`) !== stickyBucket('salt-b', `u${i}`)) differ++;
    assert.ok(differ > 90, `only ${differ} of 100 users moved with a new salt`);
  });
  it('is the canonical MurmurHash3 x86_32 over UTF-8 (published test vectors)', () => {
    assert.equal(murmur3('', 0), 0);
    assert.equal(murmur3('', 1), 0x514e28b7);
    assert.equal(murmur3('', 0xffffffff), 0x81f16f39);
    assert.equal(murmur3('\0\0\0\0', 0), 0x2362f9de);
    assert.equal(murmur3('aaaa', 0x9747b28c), 0x5a97808a);
    assert.equal(murmur3('Hello, world!', 0x9747b28c), 0x24884cba);
    assert.equal(murmur3('The quick brown fox jumps over the lazy dog', 0x9747b28c), 0x2fa826cd);
    // Multi-byte input hashes its UTF-8 bytes: same as hashing the equivalent Latin-1 byte string.
    const utf8AsLatin1 = Buffer.from('ü€😀', 'utf8').toString('latin1');
    assert.equal(murmur3('ü€😀'), murmur3Bytes(utf8AsLatin1));
  });
  it('buckets a user by the hash of salt, NUL and user key (the documented formula other tools reproduce)', () => {
    for (const [salt, user] of [
      ['release-salt', 'user-1'],
      ['', ''],
      ['s', 'ü€😀 mixed \ud800 lone'],
      ['01HZX-release', 'a-much-longer-user-key-that-spans-several-blocks'],
    ] as const) {
      assert.equal(stickyBucket(salt, user), murmur3Reference(Buffer.from(`${salt}\u0000${user}`, 'utf8')) % 10_000, `${salt}/${user}`);
    }
  });
  it('splits 20,000 users within ±1 point of the weight', () => {
    for (const weight of [500, 2500, 5000]) {
      let canary = 0;
      for (let i = 0; i < 20_000; i++) if (isCanary('release-salt', `user-${i}`, weight)) canary++;
      const share = (canary / 20_000) * 10_000;
      assert.ok(Math.abs(share - weight) <= 100, `weight ${weight}: got ${share}`);
    }
  });
  it('never moves a canary user back to stable when the weight rises', () => {
    for (let i = 0; i < 5000; i++) {
      const key = `user-${i}`;
      if (isCanary('s', key, 500)) assert.ok(isCanary('s', key, 2500) && isCanary('s', key, 5000));
    }
  });
});
