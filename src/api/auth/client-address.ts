/**
 * Client-address grouping for limits and audit aggregation. One IPv6 client usually holds a
 * whole /64 (RFC 6177 recommends at least a /64 per site; SLAAC and privacy addresses rotate
 * inside it), so counting per exact IPv6 address would let one client make 2^64 fresh starts.
 * IPv4 (and IPv4-mapped IPv6) addresses are their own group.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The group an address counts in: the IPv4 address, or the IPv6 /64 as `xxxx:xxxx:xxxx:xxxx::/64`. */
export function addressGroup(address: string): string {
  if (isIPv4(address)) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] && isIPv4(mapped[1])) return mapped[1];
  if (!isIPv6(address)) return address;
  return `${expandIpv6(address).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (zone id dropped), lowercase, without leading zeros. */
function expandIpv6(address: string): string[] {
  let text = address.split('%')[0]!.toLowerCase();
  // A trailing dotted quad (::1.2.3.4) is the last 32 bits.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16).toString(16));
}

/**
 * Validates trusted-proxy entries (an address or CIDR, IPv4 or IPv6) where they enter.
 * @throws RangeError naming the first bad entry.
 */
export function checkTrustedProxies(entries: readonly string[]): void {
  for (const entry of entries) {
    const [ip = '', prefix, extra] = entry.split('/');
    const family = isIPv4(ip) ? 4 : isIPv6(ip) ? 6 : 0;
    const bits = family === 4 ? 32 : 128;
    const okPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !okPrefix || extra !== undefined) {
      throw new RangeError(`trusted proxy "${entry}" is not an IP address or CIDR (e.g. 10.0.0.0/8, 127.0.0.1, fd00::/8)`);
    }
  }
}
