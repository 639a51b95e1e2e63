/**
 * The sticky bucket's canonical formula (core/sticky.ts) against a live HAProxy: its
 * native converters `var(txn.salt),concat(,txn.key,),xxh32,mod(10000)` re-derive every vector
 * in src/core/sticky-vectors.json, and Tern's own xxh32 agrees with them on generated keys.
 * HAProxy is Debian's 2.6 (installed by .ci/run); locally the test skips without it, in CI it
 * always runs.
 *
 * Regenerate the vectors file (only when the inputs below change; the outputs come from
 * HAProxy, never from Tern's implementation):
 *   TERN_WRITE_STICKY_VECTORS=1 node --import tsx --test test/sticky-haproxy.test.ts
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { stickyBucket } from '../src/core/sticky.js';
import { xxh32 } from '../src/core/xxh32.js';
import { haproxyAvailable, startHaproxyHasher, type HaproxyHasher } from './support/haproxy-hash.js';

const VECTORS_FILE = new URL('../src/core/sticky-vectors.json', import.meta.url);

interface Vector {
  readonly salt: string;
  readonly userKey: string;
  readonly xxh32: number;
  readonly bucket: number;
}

// Salts as releases make them (16 random bytes, base64url: 22 characters), the docs' worked
// example, and a short one so salt ‖ key also takes xxh32's under-16-byte path.
const ISSUE = 'abcdef0123456789';
const S1 = 'ksEl7BnKZFL_zgEcvv6eYA';
const S2 = '2c5xgUbAnPn7cS3COgXFpQ';
const S3 = 'xiAX_6PGTGZcATdVcSTvLg';
const SHORT = 'tern';

/** The vectors' inputs; their outputs are whatever HAProxy answers. */
const INPUTS: readonly (readonly [string, string])[] = [
  // the worked examples of the docs; '' makes exactly one 16-byte stripe
  [ISSUE, 'alice'],
  [ISSUE, 'zoë'],
  [ISSUE, ''],
  // under 16 bytes in all (no stripe), 15, 16 and 17 bytes
  [SHORT, ''],
  [SHORT, 'a'],
  [SHORT, 'bob'],
  [SHORT, 'alice'],
  [SHORT, 'zoë'],
  [SHORT, '😀'],
  [SHORT, '0123456789a'],
  [SHORT, '0123456789ab'],
  [SHORT, '0123456789abc'],
  // ASCII user keys as the gateway reads them: header values, cookies, client IPs
  [S1, ''],
  [S1, 'alice'],
  [S1, 'bob'],
  [S1, 'user-1'],
  [S1, 'user-19999'],
  [S1, '127.0.0.1'],
  [S1, '2001:db8::1'],
  [S1, 'f47ac10b-58cc-4372-a567-0e02b2c3d479'],
  [S1, 'Jm6qT0Gv1Uo8v6mVZ2r5kA'],
  [S1, 'alice@example.com'],
  [S1, 'a, b; c=d'],
  // salt ‖ key of 31, 32 and 48 bytes, and long keys over several stripes
  [S1, 'k'.repeat(9)],
  [S1, 'k'.repeat(10)],
  [S1, 'k'.repeat(26)],
  [S1, 'a-much-longer-user-key-that-spans-several-stripes-of-sixteen-bytes'],
  [S1, 'x'.repeat(100)],
  [S1, 'user-'.repeat(51)],
  // non-ASCII: 2-, 3- and 4-byte UTF-8 sequences, short and long
  [S2, 'zoë'],
  [S2, 'José'],
  [S2, 'Ärger'],
  [S2, 'ñandú'],
  [S2, '€'],
  [S2, '用户'],
  [S2, '用户-12345'],
  [S2, 'ユーザー'],
  [S2, 'उपयोगकर्ता'],
  [S2, '😀'],
  [S2, 'user-😀'],
  [S2, '𝔘𝔰𝔢𝔯'],
  [S2, 'ü€😀 mixed'],
  [S2, 'Ünïcödé-ключ-用户-😀'.repeat(3)],
  // lone surrogates: encoded as U+FFFD (EF BF BD), as TextEncoder and Buffer.from do; the bytes
  // sent to HAProxy are Node's Buffer encoding (a lone surrogate has no UTF-8 of its own)
  [S3, 'a\ud800b'],
  [S3, '\udc00'],
  [S3, 'end\ud83d'],
  [S3, 'x\ud83d\ude00\ud800'],
  // ASCII again under a third salt
  [S3, 'alice'],
  [S3, 'bob'],
  [S3, 'user-1'],
];

/** Values a header can carry as they are: no control bytes, no surrounding whitespace. */
function headerSafe(value: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u001f\u007f]/.test(value) && value.trim() === value;
}

describe('sticky bucket: HAProxy computes the canonical formula', { skip: !haproxyAvailable() && 'haproxy is not installed' }, () => {
  let haproxy: HaproxyHasher;
  before(async () => {
    haproxy = await startHaproxyHasher();
  });
  after(async () => {
    await haproxy.stop();
  });

  it('re-derives every vector of src/core/sticky-vectors.json from HAProxy xxh32,mod(10000)', async () => {
    if (process.env.TERN_WRITE_STICKY_VECTORS === '1') {
      const fresh: Vector[] = [];
      for (const [salt, userKey] of INPUTS) {
        const { xxh32: hash, bucket } = await haproxy.hash(salt, userKey);
        fresh.push({ salt, userKey, xxh32: hash, bucket });
      }
      await writeFile(VECTORS_FILE, `${JSON.stringify(fresh, null, 2)}\n`);
    }
    const vectors = JSON.parse(await readFile(VECTORS_FILE, 'utf8')) as Vector[];
    assert.deepEqual(
      vectors.map((v) => [v.salt, v.userKey]),
      INPUTS.map(([s, k]) => [s, k]),
      'the vectors file has exactly the inputs above',
    );
    for (const v of vectors) {
      const got = await haproxy.hash(v.salt, v.userKey);
      const what = JSON.stringify([v.salt, v.userKey]);
      assert.deepEqual(got.bytes, Buffer.from(v.salt + v.userKey, 'utf8'), `${what}: HAProxy hashed other bytes`);
      assert.equal(got.xxh32, v.xxh32, `${what}: xxh32`);
      assert.equal(got.bucket, v.bucket, `${what}: bucket`);
      assert.equal(v.bucket, v.xxh32 % 10_000, `${what}: bucket is xxh32 mod 10000`);
    }
    // The docs' worked examples (docs/api.md, "The sticky bucket").
    assert.deepEqual(
      vectors.slice(0, 2).map((v) => [v.xxh32, v.bucket]),
      [
        [796275475, 5475],
        [2101976180, 6180],
      ],
    );
  });

  it("Tern's stickyBucket gives HAProxy's bucket for generated salts and keys, non-ASCII included", async () => {
    const salt = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64url'));
    const key = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
    );
    await fc.assert(
      fc.asyncProperty(salt, key.filter(headerSafe), async (s, k) => {
        const got = await haproxy.hash(s, k);
        assert.equal(xxh32(s + k), got.xxh32);
        assert.equal(stickyBucket(s, k), got.bucket);
        assert.equal(stickyBucket(s, k, 'xxh32'), got.bucket);
      }),
      { numRuns: 600, seed: 12 },
    );
  });
});
