import assert from 'node:assert/strict';
// The test reads its fixture file; the code under test stays free of I/O.
// eslint-disable-next-line no-restricted-imports
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { murmur3 } from './murmur3.js';
import { BUCKET_HASHES, isCanary, stickyBucket } from './sticky.js';
import type { BucketHash } from './types.js';
import { xxh32 } from './xxh32.js';

interface Vector {
  readonly salt: string;
  readonly userKey: string;
  readonly xxh32: number;
  readonly bucket: number;
}

/** Produced by a live HAProxy (test/sticky-haproxy.test.ts re-derives them), not by this code. */
const VECTORS = JSON.parse(readFileSync(new URL('./sticky-vectors.json', import.meta.url), 'utf8')) as Vector[];

/** Salts as releases make them: 16 random bytes, base64url. */
const salt = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64url'));
const userKey = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));
const hash = fc.constantFrom<BucketHash>(...BUCKET_HASHES);

describe('sticky split', () => {
  it('matches the canonical vectors (HAProxy xxh32,mod(10000)): ASCII, empty, long and non-ASCII keys', () => {
    assert.ok(VECTORS.length >= 40, `only ${VECTORS.length} vectors`);
    for (const v of VECTORS) {
      const what = JSON.stringify([v.salt, v.userKey]);
      assert.equal(xxh32(v.salt + v.userKey), v.xxh32, `${what}: xxh32`);
      assert.equal(stickyBucket(v.salt, v.userKey), v.bucket, `${what}: bucket`);
      assert.equal(stickyBucket(v.salt, v.userKey, 'xxh32'), v.bucket, `${what}: bucket`);
    }
    // The file covers what the formula must get right.
    const bytes = VECTORS.map((v) => Buffer.byteLength(v.salt + v.userKey));
    assert.ok(bytes.some((n) => n < 16) && bytes.some((n) => n === 16) && bytes.some((n) => n >= 32) && bytes.some((n) => n > 64));
    assert.ok(VECTORS.some((v) => v.userKey === ''));
    for (const width of [2, 3, 4]) {
      assert.ok(
        VECTORS.some((v) => [...v.userKey].some((c) => Buffer.byteLength(c) === width && c !== '\ufffd')),
        `a ${width}-byte character`,
      );
    }
    assert.ok(
      VECTORS.some((v) => /\p{Cs}/u.test(v.userKey)),
      'a lone surrogate',
    );
  });

  it('keeps the murmur3 formula of releases started before migration 8: murmur3(salt ‖ NUL ‖ key) mod 10000', () => {
    // Values computed by Tern's gateway before the change; a release in flight must keep them.
    assert.equal(stickyBucket('release-salt', 'user-1', 'murmur3'), 740);
    assert.equal(stickyBucket('ksEl7BnKZFL_zgEcvv6eYA', 'alice', 'murmur3'), 262);
    assert.equal(stickyBucket('ksEl7BnKZFL_zgEcvv6eYA', 'zoë', 'murmur3'), 7831);
    assert.equal(stickyBucket('ksEl7BnKZFL_zgEcvv6eYA', 'a\ud800b😀', 'murmur3'), 2897);
    assert.equal(stickyBucket('ksEl7BnKZFL_zgEcvv6eYA', '', 'murmur3'), 5849);
    fc.assert(
      fc.property(salt, userKey, (s, k) => stickyBucket(s, k, 'murmur3') === murmur3(`${s}\u0000${k}`) % 10_000),
      { seed: 12 },
    );
  });

  it('is deterministic and in 0..9999 for every (salt, user key, hash)', () => {
    fc.assert(
      fc.property(salt, userKey, hash, (s, k, h) => {
        const b = stickyBucket(s, k, h);
        return Number.isInteger(b) && b >= 0 && b < 10_000 && stickyBucket(s, k, h) === b;
      }),
      { numRuns: 2000, seed: 12 },
    );
  });

  it('is salted: another release salt splits the same users anew', () => {
    fc.assert(
      fc.property(salt, salt, hash, (a, b, h) => {
        fc.pre(a !== b);
        let differ = 0;
        for (let i = 0; i < 400; i++) if (isCanary(a, `user-${i}`, 5_000, h) !== isCanary(b, `user-${i}`, 5_000, h)) differ++;
        // Independent splits disagree on half the users (sd 10); the same split on none.
        return differ > 140 && differ < 260;
      }),
      { numRuns: 50, seed: 12 },
    );
  });

  it('is monotonic: raising the weight never moves a canary user back to stable', () => {
    fc.assert(
      fc.property(salt, userKey, hash, fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000 }), (s, k, h, w1, w2) => {
        const [low, high] = w1 <= w2 ? [w1, w2] : [w2, w1];
        return !isCanary(s, k, low, h) || isCanary(s, k, high, h);
      }),
      { numRuns: 5000, seed: 12 },
    );
    for (const h of BUCKET_HASHES) {
      assert.equal(isCanary('s', 'u', 0, h), false, `${h}: weight 0 routes nobody`);
      assert.equal(isCanary('s', 'u', 10_000, h), true, `${h}: weight 10000 routes everybody`);
    }
  });

  it('splits 20,000 users within ±1 point of the weight at 5%, 25% and 50%', () => {
    for (const h of BUCKET_HASHES) {
      for (const s of ['ksEl7BnKZFL_zgEcvv6eYA', '2c5xgUbAnPn7cS3COgXFpQ', 'xiAX_6PGTGZcATdVcSTvLg']) {
        for (const weight of [500, 2500, 5000]) {
          let canary = 0;
          for (let i = 0; i < 20_000; i++) if (isCanary(s, `user-${i}`, weight, h)) canary++;
          const share = (canary / 20_000) * 10_000;
          assert.ok(Math.abs(share - weight) <= 100, `${h}, salt ${s}, weight ${weight}: got ${share}`);
        }
      }
    }
  });

  it('refuses an unknown hash rather than guessing one', () => {
    assert.throws(() => stickyBucket('s', 'u', 'md5' as BucketHash), { code: 'TERN_INVALID_REQUEST' });
  });
});
