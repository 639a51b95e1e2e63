/**
 * The sticky split (DESIGN §3): `bucket = hash(releaseSalt, userKey) mod 10000`; a user is on
 * the canary iff `bucket < weight`. Because a user's bucket never changes within a release,
 * raising the weight only ever adds users to the canary.
 *
 * Hand-written MurmurHash3 (x86, 32-bit): it runs on every proxied request, must give the same
 * answer in every gateway process and in any other language's tooling, and must not allocate;
 * node:crypto digests are several times slower here and the npm ports hash UTF-16 or allocate.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/*
 * The hash runs as a stream over module-level state, so `stickyBucket` can hash salt, separator
 * and user key in place — no concatenated (and later flattened) string, no closure per call.
 * JavaScript is single-threaded and nothing here yields, so the state cannot interleave.
 */
let h = 0;
let block = 0;
let filled = 0;
let length = 0;

function begin(seed: number): void {
  h = seed >>> 0;
  block = 0;
  filled = 0;
  length = 0;
}

function pushByte(byte: number): void {
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

/** Feeds the UTF-8 bytes of `text`, encoded on the fly (lone surrogates as U+FFFD, as TextEncoder does). */
function pushText(text: string): void {
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      pushByte(c);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x800) {
      pushByte(0xc0 | (c >> 6));
    } else if (c < 0x10000) {
      pushByte(0xe0 | (c >> 12));
      pushByte(0x80 | ((c >> 6) & 0x3f));
    } else {
      pushByte(0xf0 | (c >> 18));
      pushByte(0x80 | ((c >> 12) & 0x3f));
      pushByte(0x80 | ((c >> 6) & 0x3f));
    }
    pushByte(0x80 | (c & 0x3f));
  }
}

function end(): number {
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

/** Canonical MurmurHash3 x86_32 over the UTF-8 bytes of `text`. Allocates nothing. */
export function murmur3(text: string, seed = 0): number {
  begin(seed);
  pushText(text);
  return end();
}

/** The user's bucket in 0..9999 for a release salt. */
export function stickyBucket(salt: string, userKey: string): number {
  // murmur3(`${salt}\u0000${userKey}`), hashed without building that string.
  begin(0);
  pushText(salt);
  pushByte(0);
  pushText(userKey);
  return end() % 10_000;
}

/** True when the user goes to the canary at `weight` basis points. */
export function isCanary(salt: string, userKey: string, weight: number): boolean {
  return stickyBucket(salt, userKey) < weight;
}
