import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { murmur3 } from './murmur3.js';

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

describe('murmur3', () => {
  it('is the canonical MurmurHash3 x86_32 over UTF-8 (published test vectors)', () => {
    assert.equal(murmur3('', 0), 0);
    assert.equal(murmur3('', 1), 0x514e28b7);
    assert.equal(murmur3('', 0xffffffff), 0x81f16f39);
    assert.equal(murmur3('\0\0\0\0', 0), 0x2362f9de);
    assert.equal(murmur3('aaaa', 0x9747b28c), 0x5a97808a);
    assert.equal(murmur3('Hello, world!', 0x9747b28c), 0x24884cba);
    assert.equal(murmur3('The quick brown fox jumps over the lazy dog', 0x9747b28c), 0x2fa826cd);
  });

  it('hashes the UTF-8 bytes of its input, lone surrogates as U+FFFD', () => {
    for (const text of ['ü€😀', 'a\ud800b', '\udc00', 'x😀\ud83d'])
      assert.equal(murmur3(text), murmur3Reference(Buffer.from(text, 'utf8')), text);
  });
});
