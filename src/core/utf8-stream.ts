/**
 * UTF-8 encoding one character at a time, for the sticky hashes (core/xxh32.ts,
 * core/murmur3.ts): they stream a string's UTF-8 bytes into their state without an encoded
 * copy. Lone surrogates become U+FFFD (EF BF BD), as TextEncoder and Buffer.from(text, 'utf8')
 * do. Callers take ASCII (one byte, the UTF-16 unit itself) on their own fast path.
 */

/** The Unicode scalar value at `i`: a surrogate pair's code point (2 units), U+FFFD for a lone surrogate. */
export function scalarAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 0xd800 || c > 0xdfff) return c;
  if (c <= 0xdbff && i + 1 < text.length) {
    const next = text.charCodeAt(i + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
  }
  return 0xfffd;
}

/** How many UTF-8 bytes a scalar value takes (1..4). */
export function utf8Length(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** A scalar value's UTF-8 bytes packed into one integer, first byte lowest (read with `& 0xff`, `>>> 8`). */
export function utf8Packed(cp: number): number {
  if (cp < 0x80) return cp;
  if (cp < 0x800) return 0xc0 | (cp >> 6) | ((0x80 | (cp & 0x3f)) << 8);
  if (cp < 0x10000) return 0xe0 | (cp >> 12) | ((0x80 | ((cp >> 6) & 0x3f)) << 8) | ((0x80 | (cp & 0x3f)) << 16);
  return 0xf0 | (cp >> 18) | ((0x80 | ((cp >> 12) & 0x3f)) << 8) | ((0x80 | ((cp >> 6) & 0x3f)) << 16) | ((0x80 | (cp & 0x3f)) << 24);
}
