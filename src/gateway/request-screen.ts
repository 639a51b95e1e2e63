/**
 * The checks every request passes before it is routed, on top of
 * what node's parser (llhttp) already refuses — it refuses a missing Host on HTTP/1.1, versions
 * like 1.2 or 3.0, bad chunking and CL+TE (listener.ts), but lets these through:
 *
 * - HTTP versions other than 1.0 and 1.1 ("HTTP/0.9" requests with no version, "HTTP/2.0"
 *   request lines): this is an HTTP/1.x listener, so 400 (RFC 9112 §2.3 lets a server refuse).
 * - More than one Host field line, or a Host that is not `uri-host[:port]` (an empty one,
 *   `evil@127.0.0.1/x`): 400, as RFC 9112 §3.2 requires. In absolute-form the target's
 *   authority replaces Host (RFC 9112 §3.2.2) and is checked the same way.
 * - More header lines than `maxHeaderCount`: 431 (RFC 6585 §5). Node keeps at most 2,000 and
 *   drops the rest silently; a request near that limit made upstreams drop the gateway's own
 *   X-Forwarded-For and Via, appended last.
 * - A path with encoded traversal or NUL (path.ts): 400. Otherwise the path is replaced by
 *   its dot-segment-free form, so matching and forwarding see the same path.
 *
 * `screen` rewrites `req.url` to the normalised origin-form path (and `req.headers.host` to the
 * absolute-form authority) so the proxy and upgrade handlers route what was checked.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { normalisePath } from './path.js';

/** Default cap on request header lines: Apache's LimitRequestFields; browsers send ~20. */
export const DEFAULT_MAX_HEADER_COUNT = 100;

export interface Refusal {
  readonly status: 400 | 431;
  readonly reason: string;
}

// RFC 3986 §3.2.2 host (IP-literal / IPv4 / reg-name, pct-encoded allowed) and §3.2.3 port.
const HOST =
  /^(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[A-Za-z0-9._~!$&'()*+,;=:-]+\]|(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+)(?::[0-9]{0,5})?$/;
const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)(.*)$/s;

function hostCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') n++;
  return n;
}

function checkHost(value: string | undefined): Refusal | null {
  if (value === undefined) return null; // HTTP/1.0 without Host: node refuses a 1.1 request that lacks one
  if (!HOST.test(value)) return { status: 400, reason: 'the Host header is not a valid host[:port]' };
  return null;
}

/**
 * Checks `req` and rewrites its target in place. @returns null when the request may be routed,
 * else the answer to give.
 */
export function screen(req: IncomingMessage, maxHeaderCount: number): Refusal | null {
  if (req.httpVersionMajor !== 1 || (req.httpVersionMinor !== 0 && req.httpVersionMinor !== 1)) {
    return { status: 400, reason: `HTTP/${req.httpVersion} is not spoken here; use HTTP/1.1` };
  }
  if (req.rawHeaders.length / 2 > maxHeaderCount) {
    return { status: 431, reason: `more than ${maxHeaderCount} header fields` };
  }
  if (hostCount(req.rawHeaders) > 1) return { status: 400, reason: 'more than one Host header' };
  let target = req.url ?? '/';
  const absolute = ABSOLUTE.exec(target);
  if (absolute !== null) {
    const authority = absolute[1]!;
    const bad = checkHost(authority);
    if (bad !== null) return bad;
    req.headers.host = authority;
    target = absolute[2] === '' ? '/' : absolute[2]!;
  } else {
    const bad = checkHost(req.headers.host);
    if (bad !== null) return bad;
  }
  if (target === '*' && req.method === 'OPTIONS') return null; // RFC 9112 §3.2.4 asterisk-form
  const verdict = normalisePath(target);
  if (!verdict.ok) return { status: 400, reason: verdict.reason };
  req.url = verdict.path;
  return null;
}

/** A complete answer written on a raw socket (upgrade requests), then the socket is closed. */
export function refuseRaw(socket: Socket, refusal: Refusal): void {
  const body = `${refusal.reason}\n`;
  socket.end(
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? 'Error'}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
  );
}
