/**
 * Header rewriting at the proxy boundary.
 *
 * Hop-by-hop fields (RFC 9110 §7.6.1) describe one connection, not the message, so a proxy
 * must drop them: Connection and every field it names, plus Keep-Alive, Proxy-Connection,
 * TE, Transfer-Encoding, Trailer, Upgrade, Proxy-Authenticate, Proxy-Authorization. Expect is
 * dropped too: node:http already answered the client's `100-continue` (RFC 9110 §10.1.1).
 * Host is rewritten to the endpoint's authority (the original goes in X-Forwarded-Host), and
 * Via is added as RFC 9110 §7.6.3 asks of every proxy.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { isEncrypted } from '../net/tls.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  'expect',
]);

/** Fields the request's Connection header names (lower-case), or null when none. */
function connectionListed(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null;
  const text = Array.isArray(value) ? value.join(',') : value;
  const names = new Set<string>();
  for (const token of text.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive') names.add(name);
  }
  return names.size === 0 ? null : names;
}

export interface ForwardContext {
  /** `host[:port]` of the chosen endpoint. */
  readonly authority: string;
  /** X-Forwarded-Proto for a plain-HTTP client connection (`http`); one over TLS always forwards `https`. */
  readonly proto: string;
  /** Extra fields to keep although hop-by-hop (the upgrade path keeps Connection/Upgrade). */
  readonly keep?: ReadonlySet<string>;
}

/** Headers for the upstream request as a flat [name, value, ...] list, preserving order and duplicates. */
export function upstreamRequestHeaders(req: IncomingMessage, ctx: ForwardContext): string[] {
  const raw = req.rawHeaders;
  const listed = connectionListed(req.headers.connection);
  const out: string[] = [];
  let forwardedFor: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (lower === 'host' || lower.startsWith('x-forwarded-') || lower === 'via') {
      if (lower === 'x-forwarded-for') forwardedFor = forwardedFor === null ? raw[i + 1]! : `${forwardedFor}, ${raw[i + 1]!}`;
      else if (lower === 'via') out.push(name, raw[i + 1]!);
      continue;
    }
    if ((HOP_BY_HOP.has(lower) || listed?.has(lower) === true) && ctx.keep?.has(lower) !== true) continue;
    out.push(name, raw[i + 1]!);
  }
  const client = req.socket.remoteAddress ?? '';
  out.push('host', ctx.authority);
  out.push('x-forwarded-for', forwardedFor === null ? client : `${forwardedFor}, ${client}`);
  out.push('x-forwarded-proto', isEncrypted(req.socket) ? 'https' : ctx.proto);
  if (req.headers.host !== undefined) out.push('x-forwarded-host', req.headers.host);
  out.push('via', `${req.httpVersion} tern`);
  return out;
}

/**
 * Response headers for the client as a flat [name, value, ...] list (what `writeHead` takes
 * without building an object per response): hop-by-hop fields and the ones Connection names
 * removed, repeated fields (Set-Cookie) kept, Via appended.
 */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): string[] {
  const listed = connectionListed(headers.connection);
  const out: string[] = [];
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || listed?.has(name) === true || name === 'via') continue;
    const value = headers[name];
    if (typeof value === 'string') out.push(name, value);
    else if (value !== undefined) for (const v of value) out.push(name, v);
  }
  out.push('via', headers.via === undefined ? '1.1 tern' : `${String(headers.via)}, 1.1 tern`);
  return out;
}
