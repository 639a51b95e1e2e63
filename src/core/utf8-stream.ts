/**
 * UTF-8 encoding on the fly for the sticky hashes (core/sticky.ts): each byte of `text` goes to
 * `sink` as it is encoded, so a hash streams over its input without an encoded copy. Lone
 * surrogates become U+FFFD (EF BF BD), as TextEncoder and Buffer.from(text, 'utf8') do.
 */

/** Calls `sink` with each byte of the UTF-8 encoding of `text`, in order. Allocates nothing. */
export function forEachUtf8Byte(text: string, sink: (byte: number) => void): void {
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      sink(c);
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
      sink(0xc0 | (c >> 6));
    } else if (c < 0x10000) {
      sink(0xe0 | (c >> 12));
      sink(0x80 | ((c >> 6) & 0x3f));
    } else {
      sink(0xf0 | (c >> 18));
      sink(0x80 | ((c >> 12) & 0x3f));
      sink(0x80 | ((c >> 6) & 0x3f));
    }
    sink(0x80 | (c & 0x3f));
  }
}
