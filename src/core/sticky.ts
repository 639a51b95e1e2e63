/**
 * The sticky split (docs/api.md, "The sticky bucket"): a user is on the canary iff `bucket < weight` (basis points).
 * Because a user's bucket never changes within a release, raising the weight only ever adds
 * users to the canary. Two bucket formulas, chosen per release (`Release.bucketHash`):
 *
 * - `xxh32` (releases started since migration 8):
 *   `bucket = XXH32(UTF-8(salt ‖ userKey), seed 0) mod 10000`, ‖ plain concatenation. HAProxy
 *   computes it natively (`var(txn.salt),concat(,txn.key,),xxh32,mod(10000)`), NGINX in njs,
 *   so every data plane agrees bit-for-bit (vectors: sticky-vectors.json, produced by HAProxy).
 * - `murmur3` (releases started before): `MurmurHash3_x86_32(UTF-8(salt ‖ NUL ‖ userKey), 0) mod
 *   10000`. Kept so an upgrade never moves users of a release already in flight.
 *
 * Both hashes are hand-written (core/xxh32.ts, core/murmur3.ts): this runs on every proxied
 * request, so it must not allocate, and it must match HAProxy's converter bit-for-bit (checked
 * against a live HAProxy by test/sticky-haproxy.test.ts). The npm xxHash packages (js-xxhash,
 * xxhashjs, xxhash-wasm, @node-rs/xxhash, …) all take one string or Buffer, so salt ‖ key must
 * be concatenated and encoded per request: js-xxhash encodes into a fresh Uint8Array (measured
 * here: ~4× slower, 1,609 minor GCs per 5e6 calls), xxhash-wasm flattens the concatenation and
 * copies it into WebAssembly memory after an asynchronous start (as fast, 56 minor GCs),
 * xxhashjs builds cuint objects, @node-rs/xxhash is a native addon per platform with an N-API
 * copy per call. Streaming the UTF-8 bytes of salt and key into the hash state: 0 minor GCs.
 */
import { ValidationError } from './errors.js';
import { murmur3Begin, murmur3Byte, murmur3EndMod, murmur3Text } from './murmur3.js';
import type { BucketHash } from './types.js';
import { xxh32Begin, xxh32EndMod, xxh32Text } from './xxh32.js';

/** Buckets per release: weights are basis points. */
export const BUCKETS = 10_000;

/** Every bucket hash, newest first; new releases use the first. */
export const BUCKET_HASHES: readonly BucketHash[] = ['xxh32', 'murmur3'];

/** The hash new releases record. */
export const CURRENT_BUCKET_HASH: BucketHash = 'xxh32';

/**
 * The user's bucket in 0..9999 for a release salt, under that release's hash (default xxh32).
 * @throws ValidationError for a hash that is not a BucketHash (callers validate it where it enters).
 */
export function stickyBucket(salt: string, userKey: string, hash: BucketHash = 'xxh32'): number {
  switch (hash) {
    case 'xxh32':
      // xxh32(salt + userKey), hashed without building that string.
      xxh32Begin(0);
      xxh32Text(salt);
      xxh32Text(userKey);
      return xxh32EndMod(BUCKETS);
    case 'murmur3':
      // murmur3(`${salt}\u0000${userKey}`), likewise.
      murmur3Begin(0);
      murmur3Text(salt);
      murmur3Byte(0);
      murmur3Text(userKey);
      return murmur3EndMod(BUCKETS);
    default:
      throw new ValidationError('bucketHash', `unknown bucket hash ${JSON.stringify(hash satisfies never)}; expected xxh32 or murmur3`);
  }
}

/** True when the user goes to the canary at `weight` basis points (hash: the release's, default xxh32). */
export function isCanary(salt: string, userKey: string, weight: number, hash: BucketHash = 'xxh32'): boolean {
  return stickyBucket(salt, userKey, hash) < weight;
}
