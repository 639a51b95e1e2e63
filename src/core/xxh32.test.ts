import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { xxh32, xxh32Begin, xxh32Byte, xxh32End, xxh32Text } from './xxh32.js';

describe('xxh32', () => {
  it('gives the published XXH32 values (checked on HAProxy 2.6 xxh32 too)', () => {
    assert.equal(xxh32(''), 0x02cc5d05);
    assert.equal(xxh32('a'), 0x550d7456);
    assert.equal(xxh32('abc'), 0x32d153ff);
    assert.equal(xxh32('message digest'), 0x7c948494);
    assert.equal(xxh32('Nobody inspects the spammish repetition'), 0xe2293b2f);
    assert.equal(xxh32('The quick brown fox jumps over the lazy dog'), 0xe85ea4de);
  });

  it('honours the seed (values from HAProxy xxh32(<seed>))', () => {
    assert.equal(xxh32('abc', 1), 2856167679);
    assert.equal(xxh32('abc', 2654435761), 2712565513);
    assert.equal(xxh32('The quick brown fox jumps over the lazy dog', 1), 592413809);
    assert.equal(xxh32('The quick brown fox jumps over the lazy dog', 2654435761), 2563240895);
  });

  it('hashes the UTF-8 bytes of its input (lone surrogates as U+FFFD), streamed byte by byte', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 70 }), (text) => {
        xxh32Begin(0);
        for (const b of Buffer.from(text, 'utf8')) xxh32Byte(b);
        assert.equal(xxh32(text), xxh32End());
      }),
      { numRuns: 2000, seed: 12 },
    );
  });

  it('gives the same hash for a text fed in pieces (every stripe and tail boundary)', () => {
    const text = 'abcdefghijklmnopqrstuvwxyz0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    for (let n = 0; n <= text.length; n++) {
      const whole = xxh32(text.slice(0, n));
      for (let cut = 0; cut <= n; cut++) {
        xxh32Begin(0);
        xxh32Text(text.slice(0, cut));
        xxh32Text(text.slice(cut, n));
        assert.equal(xxh32End(), whole, `length ${n}, cut at ${cut}`);
      }
    }
  });
});
