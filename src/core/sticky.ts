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

function mixBlock(h: number, block: number): number {
  let k = Math.imul(block, C1);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, C2);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * Canonical MurmurHash3 x86_32 over the UTF-8 bytes of `text`, encoding on the fly so the hot
 * path allocates nothing (lone surrogates are encoded as U+FFFD, as TextEncoder does).
 */
export function murmur3(text: string, seed = 0): number {
  let h = seed >>> 0;
  let block = 0;
  let filled = 0;
  let length = 0;
  const push = (byte: number): void => {
    block |= byte << (filled * 8);
    length++;
    if (++filled === 4) {
      h = mixBlock(h, block);
      block = 0;
      filled = 0;
    }
  };
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      push(c);
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
      push(0xc0 | (c >> 6));
    } else if (c < 0x10000) {
      push(0xe0 | (c >> 12));
      push(0x80 | ((c >> 6) & 0x3f));
    } else {
      push(0xf0 | (c >> 18));
      push(0x80 | ((c >> 12) & 0x3f));
      push(0x80 | ((c >> 6) & 0x3f));
    }
    push(0x80 | (c & 0x3f));
  }
  if (filled > 0) {
    let k = Math.imul(block, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The user's bucket in 0..9999 for a release salt. */
export function stickyBucket(salt: string, userKey: string): number {
  return murmur3(`${salt}\u0000${userKey}`) % 10_000;
}

/** True when the user goes to the canary at `weight` basis points. */
export function isCanary(salt: string, userKey: string, weight: number): boolean {
  return stickyBucket(salt, userKey) < weight;
}
