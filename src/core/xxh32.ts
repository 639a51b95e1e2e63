/**
 * XXH32 (xxHash, 32-bit; Yann Collet's specification, doc/xxhash_spec.md) over UTF-8, streamed:
 * bytes are fed one at a time as they are encoded (core/utf8-stream.ts), so hashing a salt and
 * a user key needs neither their concatenation nor an encoded copy, and allocates nothing.
 *
 * It is the sticky bucket's hash (core/sticky.ts) because HAProxy has it as a native converter
 * (`xxh32`) and NGINX's njs can run it cheaply: every data plane computes the same bucket.
 */
import { forEachUtf8Byte } from './utf8-stream.js';

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

/** One accumulator round over a 4-byte lane (spec §"Step 2"). */
const round = (acc: number, lane: number): number => Math.imul(rotl((acc + Math.imul(lane, P2)) | 0, 13), P1);

/*
 * Module-level stream state (single-threaded, nothing yields, so calls cannot interleave).
 * A 16-byte stripe is buffered as three finished lanes plus the lane being filled: the
 * accumulators may consume a stripe only once it is whole, because the input's last partial
 * stripe is consumed differently (by the tail steps in xxh32End).
 */
let seed = 0;
let v1 = 0;
let v2 = 0;
let v3 = 0;
let v4 = 0;
let l0 = 0;
let l1 = 0;
let l2 = 0;
let word = 0;
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

/** Feeds one byte. */
export function xxh32Byte(byte: number): void {
  word |= byte << (filled << 3); // lanes are little-endian
  total++;
  if (++filled < 4) return;
  switch (lanes) {
    case 0:
      l0 = word;
      break;
    case 1:
      l1 = word;
      break;
    case 2:
      l2 = word;
      break;
    default:
      v1 = round(v1, l0);
      v2 = round(v2, l1);
      v3 = round(v3, l2);
      v4 = round(v4, word);
  }
  lanes = (lanes + 1) & 3;
  word = 0;
  filled = 0;
}

/** Feeds the UTF-8 bytes of `text`. */
export function xxh32Text(text: string): void {
  forEachUtf8Byte(text, xxh32Byte);
}

/** One tail step over a whole 4-byte lane (spec §"Step 5"). */
const tailLane = (acc: number, lane: number): number => Math.imul(rotl((acc + Math.imul(lane, P3)) | 0, 17), P4);

/** The hash of everything fed since xxh32Begin, as an unsigned 32-bit integer. */
export function xxh32End(): number {
  let h = total >= 16 ? (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0 : (seed + P5) | 0;
  h = (h + total) | 0;
  if (lanes > 0) h = tailLane(h, l0);
  if (lanes > 1) h = tailLane(h, l1);
  if (lanes > 2) h = tailLane(h, l2);
  for (let i = 0; i < filled; i++) {
    h = (h + Math.imul((word >>> (i << 3)) & 0xff, P5)) | 0;
    h = Math.imul(rotl(h, 11), P1);
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Canonical XXH32 over the UTF-8 bytes of `text` (seed 0 by default). Allocates nothing. */
export function xxh32(text: string, hashSeed = 0): number {
  xxh32Begin(hashSeed);
  xxh32Text(text);
  return xxh32End();
}
