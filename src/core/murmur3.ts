/**
 * MurmurHash3 x86_32 over UTF-8, streamed (no encoded copy, no allocation). It was the sticky
 * bucket's hash before migration 8 and still is for releases that started before the upgrade
 * (`bucketHash: 'murmur3'`, core/sticky.ts); the gateway also keys its error-user pseudonyms
 * with it (gateway/error-users.ts).
 */
import { scalarAt, utf8Length, utf8Packed } from './utf8-stream.js';

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

function mixBlock(k: number): void {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, C2);
  h = (h << 13) | (h >>> 19);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Feeds one byte. */
export function murmur3Byte(byte: number): void {
  block |= byte << (filled << 3);
  length++;
  if (++filled === 4) {
    mixBlock(block);
    block = 0;
    filled = 0;
  }
}

/** Feeds the UTF-8 bytes of `text`. */
export function murmur3Text(text: string): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    // Fast path: four ASCII characters at once, at any alignment: they complete the current
    // 4-byte block and what is left over starts the next one.
    if (i + 4 <= n) {
      const c0 = text.charCodeAt(i);
      const c1 = text.charCodeAt(i + 1);
      const c2 = text.charCodeAt(i + 2);
      const c3 = text.charCodeAt(i + 3);
      if ((c0 | c1 | c2 | c3) < 0x80) {
        const four = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
        const shift = filled << 3;
        mixBlock(block | (four << shift));
        block = shift === 0 ? 0 : four >>> (32 - shift);
        length += 4;
        i += 4;
        continue;
      }
    }
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      murmur3Byte(c);
      i++;
      continue;
    }
    const cp = scalarAt(text, i);
    i += cp > 0xffff ? 2 : 1;
    let packed = utf8Packed(cp);
    for (let k = utf8Length(cp); k > 0; k--, packed >>>= 8) murmur3Byte(packed & 0xff);
  }
}

/** The hash of everything fed since murmur3Begin, as a signed 32-bit integer (a small integer to V8: never boxed). */
function finish(): number {
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
  return out ^ (out >>> 16);
}

/** The hash of everything fed since murmur3Begin, as an unsigned 32-bit integer. */
export function murmur3End(): number {
  return finish() >>> 0;
}

/**
 * The hash of everything fed since murmur3Begin, mod `divisor`. Computed here so the caller gets
 * a small integer: a uint32 at or above 2^31 returned from a call V8 does not inline is boxed
 * as a heap number — an allocation per request on the gateway's hot path (bench/sticky).
 */
export function murmur3EndMod(divisor: number): number {
  return (finish() >>> 0) % divisor;
}

/** Canonical MurmurHash3 x86_32 over the UTF-8 bytes of `text` (seed 0 by default). Allocates nothing. */
export function murmur3(text: string, seed = 0): number {
  murmur3Begin(seed);
  murmur3Text(text);
  return murmur3End();
}
