/**
 * Where webhooks may go (SSRF): a deployer configures webhook URLs and Tern calls them
 * from inside the network, so a URL is a request the server makes on the deployer's behalf. The
 * admin's allow-list (`tern server --webhook-allow HOST|IP|CIDR`, or TERN_WEBHOOK_ALLOW) decides:
 *
 * - Loopback (127.0.0.0/8, ::1), link-local (169.254.0.0/16, fe80::/10: cloud metadata lives
 *   there) and unspecified (0.0.0.0/8, ::) addresses, IPv4-mapped forms included, are refused
 *   unless an IP or CIDR entry covers them (`localhost` as an entry means 127.0.0.0/8 and ::1).
 * - Without an allow-list every other destination is allowed; with one, only the listed: a host
 *   by name (`hooks.slack.com`, `*.example.com`) or an IP literal within a listed IP or CIDR.
 *
 * Checked twice: when a webhook is configured (the URL's host; 400 naming the webhook) and at
 * delivery against the address actually connected to, so a name that later resolves to
 * loopback (DNS rebinding) is refused too.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ValidationError } from '../../core/errors.js';

export interface WebhookPolicy {
  /** The allow-list as given (empty: any destination but the restricted ranges). */
  readonly entries: readonly string[];
  /** Why a URL's host may not be configured, or null. Names are not resolved here. */
  refusesHost(hostname: string): string | null;
  /** Why `address` (what `hostname` resolved to, or the literal) may not be called, or null. */
  refusesAddress(hostname: string, address: string): string | null;
}

const RESTRICTED: ReadonlyArray<readonly [string, number, 'ipv4' | 'ipv6', string]> = [
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['::', 128, 'ipv6', 'unspecified'],
];

/** `::ffff:127.0.0.1` and `::ffff:7f00:1` → `127.0.0.1`; other addresses unchanged, brackets dropped. */
function canonical(address: string): string {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase();
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted) return dotted[1]!;
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return a;
}

const family = (address: string): 'ipv4' | 'ipv6' | null => (isIP(address) === 4 ? 'ipv4' : isIP(address) === 6 ? 'ipv6' : null);

/** The restricted kind of `address` (loopback, link-local, unspecified), or null. */
export function restrictedKind(address: string): string | null {
  const a = canonical(address);
  const fam = family(a);
  if (!fam) return null;
  for (const [net, prefix, f, kind] of RESTRICTED) {
    if (f !== fam) continue;
    const list = new BlockList();
    list.addSubnet(net, prefix, f);
    if (list.check(a, f)) return kind;
  }
  return null;
}

const HOST_NAME = /^(\*\.)?(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,62}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}[a-z0-9_])?)*$/;

/**
 * Compiles the allow-list. Each entry is a host name (`hooks.example.com`, `*.example.com` for its
 * subdomains), an IP address, or a CIDR (`10.0.0.0/8`, `fd00::/8`); `localhost` stands for
 * 127.0.0.0/8 and ::1.
 * @throws ValidationError naming the entry (`${field}[i]`) when one is none of these.
 */
export function compileWebhookPolicy(entries: readonly string[] = [], field = 'webhookAllow'): WebhookPolicy {
  const ranges = new BlockList();
  const names: string[] = [];
  const suffixes: string[] = [];
  entries.forEach((raw, i) => {
    const entry = raw.trim().toLowerCase();
    const slash = entry.indexOf('/');
    const ip = canonical(slash === -1 ? entry : entry.slice(0, slash));
    const fam = family(ip);
    if (entry === 'localhost') {
      ranges.addSubnet('127.0.0.0', 8, 'ipv4');
      ranges.addAddress('::1', 'ipv6');
      names.push('localhost');
    } else if (fam && slash === -1) {
      ranges.addAddress(ip, fam);
    } else if (fam) {
      const text = entry.slice(slash + 1);
      const prefix = /^\d{1,3}$/.test(text) ? Number(text) : Number.NaN;
      if (!(prefix >= 0 && prefix <= (fam === 'ipv4' ? 32 : 128)))
        throw new ValidationError(`${field}[${i}]`, `"${raw}": the prefix length must be 0..${fam === 'ipv4' ? 32 : 128}`);
      ranges.addSubnet(ip, prefix, fam);
    } else if (HOST_NAME.test(entry)) {
      if (entry.startsWith('*.')) suffixes.push(entry.slice(1));
      else names.push(entry);
    } else {
      throw new ValidationError(
        `${field}[${i}]`,
        `"${raw}" is not a host name, an IP address or a CIDR (e.g. hooks.example.com, 10.0.0.5, 10.0.0.0/8)`,
      );
    }
  });
  const listed = entries.length > 0;
  const named = (host: string): boolean => names.includes(host) || suffixes.some((s) => host.endsWith(s));
  const inRanges = (address: string): boolean => {
    const fam = family(address);
    return fam !== null && ranges.check(address, fam);
  };
  const hint = 'an admin may allow it with tern server --webhook-allow';

  const refusesAddress = (hostname: string, address: string): string | null => {
    const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const a = canonical(address);
    if (inRanges(a)) return null;
    const kind = restrictedKind(a);
    if (kind) return `${host === a ? a : `${host} (resolved)`} is a ${kind} address; ${hint}`;
    if (!listed || named(host)) return null;
    return `${host} is not on the webhook allow-list; ${hint}`;
  };
  return {
    entries: [...entries],
    refusesAddress,
    refusesHost(hostname) {
      const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
      if (family(canonical(host))) return refusesAddress(host, host);
      // RFC 6761 §6.3: localhost names resolve to loopback.
      if (host === 'localhost' || host.endsWith('.localhost')) return named(host) ? null : refusesAddress(host, '127.0.0.1');
      if (listed && !named(host)) return `${host} is not on the webhook allow-list; ${hint}`;
      return null;
    },
  };
}

/** Resolves a name to all its addresses (dns.lookup with `all: true`; tests pass their own). */
export type Resolver = (
  hostname: string,
  family: number,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemResolver: Resolver = (hostname, family, callback) => dnsLookup(hostname, { all: true, family }, callback);

/** An error from a refused destination; its message is safe to show (no body, no resolved address). */
export class DestinationRefused extends Error {}

/**
 * A `lookup` for net.connect that resolves with `resolve` (default dns.lookup) and drops addresses
 * the policy refuses; when none is left it fails with DestinationRefused. So the check applies
 * to the address the socket connects to, whatever the name resolved to when it was configured.
 */
export function guardedLookup(policy: WebhookPolicy, resolve: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 'IPv6' || options.family === 6 ? 6 : options.family === 'IPv4' || options.family === 4 ? 4 : 0;
    resolve(hostname, family, (err, found) => {
      if (err) return callback(err, '', 0);
      const allowed = found.filter((a) => policy.refusesAddress(hostname, a.address) === null);
      if (allowed.length === 0) {
        const why = found[0] ? policy.refusesAddress(hostname, found[0].address) : `${hostname} did not resolve`;
        return callback(new DestinationRefused(`destination refused: ${why ?? 'no address'}`), '', 0);
      }
      // net.connect asks for every address (all: true) when it races IPv4 and IPv6 (autoSelectFamily).
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      return callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}
