/**
 * The per-request split: operator match rules first, then the sticky weighted
 * split `isCanary(salt, userKey, weight, bucketHash)` from core/sticky.ts — the same function the
 * control plane and every other gateway replica use, and the formula HAProxy and NGINX compute,
 * so a user lands on the same version everywhere. The hash is the release's (xxh32 for releases
 * started since migration 8, murmur3 before: an upgrade never reshuffles a release in flight).
 *
 * User key: the service's configured header, else its sticky cookie (`tern_uid`), else the
 * client IP. When the cookie is missing on a plain HTTP request the gateway issues a random
 * one and keys this very request by it, so a browser sees one version from its first request
 * on. The IP is the key when cookies are off for the service or cannot be set (WebSocket
 * upgrades, whose 101 answer comes from the upstream untouched).
 *
 * Nothing a client sends selects a version by itself: only a rule an operator wrote does.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isCanary } from '../core/sticky.js';
import type { CompiledRoute } from './route-table.js';

export type Target = 'stable' | 'canary';

export interface SplitDecision {
  readonly target: Target;
  /** Value of a cookie to issue (Set-Cookie), or null. */
  readonly issueCookie: string | null;
}

/** Cookie lifetime: 400 days, the longest browsers honour (RFC 6265bis §5.5). */
export const COOKIE_MAX_AGE_S = 400 * 24 * 3600;

/** The value of cookie `name` in a Cookie header (RFC 6265 §4.2.1), or null. No allocation per pair. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  let start = 0;
  while (start < header.length) {
    while (header.charCodeAt(start) === 32) start++;
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    if (header.startsWith(name, start) && header.charCodeAt(start + name.length) === 61 /* = */) {
      let value = header.slice(start + name.length + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value === '' ? null : value;
    }
    start = end + 1;
  }
  return null;
}

/** The Set-Cookie value for an issued sticky cookie. */
export function stickyCookieHeader(name: string, value: string): string {
  return `${name}=${value}; Max-Age=${COOKIE_MAX_AGE_S}; Path=/; HttpOnly; SameSite=Lax`;
}

/** A fresh random cookie value: 128 bits, URL-safe. */
export function newUserId(): string {
  return randomBytes(16).toString('base64url');
}

function headerValue(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v[0] ?? null;
  return null;
}

/** The first operator rule the request matches, or null. */
function matchRule(route: CompiledRoute, req: IncomingMessage): Target | null {
  for (const rule of route.rules) {
    const value = rule.source === 'header' ? headerValue(req, rule.name) : readCookie(req.headers.cookie, rule.name);
    if (value !== null && rule.test(wireKey(value))) return rule.target;
  }
  return null;
}

/**
 * The key as the client sent it: node reads header bytes as latin1, while the bucket is the hash
 * of the key's UTF-8 bytes — the bytes HAProxy and NGINX hash — so a non-ASCII key is decoded
 * as UTF-8 (bytes that are not UTF-8 become U+FFFD). ASCII keys are returned as they are.
 */
export function wireKey(value: string): string {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) >= 0x80) return Buffer.from(value, 'latin1').toString('utf8');
  }
  return value;
}

/** The user key and, when one had to be minted, the cookie to issue. */
export function userKeyOf(route: CompiledRoute, req: IncomingMessage, canIssueCookie: boolean): { key: string; issue: string | null } {
  if (route.stickyHeader !== null) {
    const v = headerValue(req, route.stickyHeader);
    if (v !== null && v !== '') return { key: wireKey(v), issue: null };
  }
  if (route.stickyCookie !== null) {
    const v = readCookie(req.headers.cookie, route.stickyCookie);
    if (v !== null) return { key: wireKey(v), issue: null };
    if (canIssueCookie) {
      const id = newUserId();
      return { key: id, issue: id };
    }
  }
  return { key: req.socket.remoteAddress ?? '', issue: null };
}

/**
 * Decides stable or canary for one request.
 * `canIssueCookie` is false for upgrades, whose response the gateway does not write.
 */
export function decide(route: CompiledRoute, req: IncomingMessage, canIssueCookie: boolean): SplitDecision {
  const ruled = route.rules.length === 0 ? null : matchRule(route, req);
  const { canary } = route;
  if (ruled !== null) return { target: ruled === 'canary' && canary ? 'canary' : 'stable', issueCookie: null };
  // Only mint and hash a key when it can matter: cookie issuance or a live canary.
  if (canary === null && route.stickyCookie === null) return { target: 'stable', issueCookie: null };
  const { key, issue } = userKeyOf(route, req, canIssueCookie);
  const onCanary = canary !== null && canary.weight > 0 && isCanary(canary.salt, key, canary.weight, canary.bucketHash);
  return { target: onCanary ? 'canary' : 'stable', issueCookie: issue };
}
