/**
 * XXH32 (xxHash, 32-bit; Yann Collet's specification, doc/xxhash_spec.md) over UTF-8, streamed:
 * a string's UTF-8 bytes go straight into the hash state as they are encoded, so hashing a salt
 * and a user key needs neither their concatenation nor an encoded copy, and allocates nothing.
 *
 * It is the sticky bucket's hash (core/sticky.ts) because HAProxy has it as a native converter
 * (`xxh32`) and NGINX's njs can run it cheaply: every data plane computes the same bucket.
 */
import { scalarAt, utf8Length, utf8Packed } from './utf8-stream.js';

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

/** One accumulator round over a 4-byte lane (spec: "Step 2. Process stripes"). */
const round = (acc: number, lane: number): number => Math.imul(rotl((acc + Math.imul(lane, P2)) | 0, 13), P1);

/*
 * Module-level stream state (single-threaded, nothing yields, so calls cannot interleave).
 * A 16-byte stripe is buffered as its finished lanes plus the lane being filled: the
 * accumulators may consume a stripe only once it is whole, because the input's last partial
 * stripe is consumed differently (by the tail steps in xxh32End).
 */
const stripe = new Int32Array(4); // allocated once, reused by every hash
let seed = 0;
let v1 = 0;
let v2 = 0;
let v3 = 0;
let v4 = 0;
let word = 0; // the lane being filled, little-endian
let filled = 0; // bytes in `word`
let lanes = 0; // finished lanes of the current stripe (0..3)
let total = 0;

/** Starts a new hash. */
export function xxh32Begin(hashSeed: number): void {
  seed = hashSeed | 0;
  v1 = (seed + P1 + P2) | 0;
  v2 = (seed + P2) | 0;
  v3 = seed;
  v4 = (seed - P1) | 0;
  word = 0;
  filled = 0;
  lanes = 0;
  total = 0;
}

function finishLane(lane: number): void {
  if (lanes < 3) {
    stripe[lanes++] = lane;
    return;
  }
  v1 = round(v1, stripe[0]!);
  v2 = round(v2, stripe[1]!);
  v3 = round(v3, stripe[2]!);
  v4 = round(v4, lane);
  lanes = 0;
}

/** Feeds one byte. */
export function xxh32Byte(byte: number): void {
  word |= byte << (filled << 3);
  total++;
  if (++filled === 4) {
    finishLane(word);
    word = 0;
    filled = 0;
  }
}

/** Feeds the UTF-8 bytes of `text`. */
export function xxh32Text(text: string): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    // Fast path: four ASCII characters at once, at any alignment: they complete the current
    // 4-byte lane and what is left over starts the next one.
    if (i + 4 <= n) {
      const c0 = text.charCodeAt(i);
      const c1 = text.charCodeAt(i + 1);
      const c2 = text.charCodeAt(i + 2);
      const c3 = text.charCodeAt(i + 3);
      if ((c0 | c1 | c2 | c3) < 0x80) {
        const four = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
        const shift = filled << 3;
        finishLane(word | (four << shift));
        word = shift === 0 ? 0 : four >>> (32 - shift);
        total += 4;
        i += 4;
        continue;
      }
    }
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      xxh32Byte(c);
      i++;
      continue;
    }
    const cp = scalarAt(text, i);
    i += cp > 0xffff ? 2 : 1;
    let packed = utf8Packed(cp);
    for (let k = utf8Length(cp); k > 0; k--, packed >>>= 8) xxh32Byte(packed & 0xff);
  }
}

/** One tail step over a whole 4-byte lane (spec: "Step 5. Consume remaining input"). */
const tailLane = (acc: number, lane: number): number => Math.imul(rotl((acc + Math.imul(lane, P3)) | 0, 17), P4);

/** The hash of everything fed since xxh32Begin, as a signed 32-bit integer (a small integer to V8: never boxed). */
function finish(): number {
  let h = total >= 16 ? (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0 : (seed + P5) | 0;
  h = (h + total) | 0;
  for (let l = 0; l < lanes; l++) h = tailLane(h, stripe[l]!);
  for (let b = 0; b < filled; b++) {
    h = (h + Math.imul((word >>> (b << 3)) & 0xff, P5)) | 0;
    h = Math.imul(rotl(h, 11), P1);
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  return h ^ (h >>> 16);
}

/** The hash of everything fed since xxh32Begin, as an unsigned 32-bit integer. */
export function xxh32End(): number {
  return finish() >>> 0;
}

/**
 * The hash of everything fed since xxh32Begin, mod `divisor`. Computed here so the caller gets
 * a small integer: a uint32 at or above 2^31 returned from a call V8 does not inline is boxed
 * as a heap number — an allocation per request on the gateway's hot path (bench/sticky).
 */
export function xxh32EndMod(divisor: number): number {
  return (finish() >>> 0) % divisor;
}

/** Canonical XXH32 over the UTF-8 bytes of `text` (seed 0 by default). Allocates nothing. */
export function xxh32(text: string, hashSeed = 0): number {
  xxh32Begin(hashSeed);
  xxh32Text(text);
  return xxh32End();
}
