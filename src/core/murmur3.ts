/**
 * MurmurHash3 x86_32 over UTF-8, streamed (no encoded copy, no allocation). It was the sticky
 * bucket's hash before issue 12 and still is for releases that started before the upgrade
 * (`bucketHash: 'murmur3'`, core/sticky.ts); the gateway also keys its error-user pseudonyms
 * with it (gateway/error-users.ts).
 */
import { forEachUtf8Byte } from './utf8-stream.js';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/*
 * The hash runs as a stream over module-level state, so a caller can hash several strings in
 * place — no concatenated (and later flattened) string, no closure per call. JavaScript is
 * single-threaded and nothing here yields, so the state cannot interleave.
 */
let h = 0;
let block = 0;
let filled = 0;
let length = 0;

/** Starts a new hash. */
export function murmur3Begin(seed: number): void {
  h = seed >>> 0;
  block = 0;
  filled = 0;
  length = 0;
}

/** Feeds one byte. */
export function murmur3Byte(byte: number): void {
  block |= byte << (filled * 8);
  length++;
  if (++filled === 4) {
    let k = Math.imul(block, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    block = 0;
    filled = 0;
  }
}

/** Feeds the UTF-8 bytes of `text`. */
export function murmur3Text(text: string): void {
  forEachUtf8Byte(text, murmur3Byte);
}

/** The hash of everything fed since murmur3Begin, as an unsigned 32-bit integer. */
export function murmur3End(): number {
  let out = h;
  if (filled > 0) {
    let k = Math.imul(block, C1);
    k = (k << 15) | (k >>> 17);
    out ^= Math.imul(k, C2);
  }
  out ^= length;
  out ^= out >>> 16;
  out = Math.imul(out, 0x85ebca6b);
  out ^= out >>> 13;
  out = Math.imul(out, 0xc2b2ae35);
  out ^= out >>> 16;
  return out >>> 0;
}

/** Canonical MurmurHash3 x86_32 over the UTF-8 bytes of `text` (seed 0 by default). Allocates nothing. */
export function murmur3(text: string, seed = 0): number {
  murmur3Begin(seed);
  murmur3Text(text);
  return murmur3End();
}
