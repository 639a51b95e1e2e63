/**
 * Upstream failure classification and the gateway's own short answers.
 *
 * Kinds: `connect` (refused, unreachable, connect timeout: nothing reached the upstream, so an
 * idempotent request may be retried elsewhere), `reset` (connection lost before the response
 * headers), `timeout` (no response headers in time), `aborted` (our side cancelled, i.e. the
 * client left), `client` (the client's body broke its own framing), `local` (the gateway's own
 * resources ran out: file descriptors, ephemeral ports, socket buffers, memory), `other`.
 *
 * Whose failure it is decides where it counts (metrics.ts): `connect`, `connect-timeout`,
 * `reset`, `timeout` and `other` (the upstream answered something unparsable) are the
 * version's errors; `local`, and any request the gateway refuses by its own choice, are
 * gateway errors, which never count against a version: 21,000 slow client connections can
 * exhaust the gateway's descriptors, and its EMFILE 502s must not roll back a healthy canary.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type FailureKind = 'connect' | 'connect-timeout' | 'reset' | 'timeout' | 'aborted' | 'client' | 'local' | 'other';

const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** The gateway's own process or host ran out of something (EADDRNOTAVAIL: no free local port). */
const LOCAL_CODES = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'EADDRNOTAVAIL', 'ENOMEM']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

export function classify(err: unknown): FailureKind {
  const kind = classifyOne(err);
  // A wrapper (e.g. a fetch TypeError) carries the system error as its cause.
  const cause = (err as { cause?: unknown } | null)?.cause;
  return kind === 'other' && cause !== undefined && cause !== err ? classifyOne(cause) : kind;
}

function classifyOne(err: unknown): FailureKind {
  const code = (err as { code?: unknown } | null)?.code;
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR') return 'aborted';
  if (typeof code !== 'string') return 'other';
  if (CONNECT_CODES.has(code)) return 'connect';
  if (LOCAL_CODES.has(code)) return 'local';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return 'connect-timeout';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout';
  if (RESET_CODES.has(code)) return 'reset';
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') return 'client';
  return 'other';
}

/** Failures that happened before the upstream could have acted on the request body. */
export function isConnectFailure(kind: FailureKind): boolean {
  return kind === 'connect' || kind === 'connect-timeout';
}

/** True for the gateway's own failures: a gateway error, never one of the version's errors. */
export function isGatewayFailure(kind: FailureKind): boolean {
  return kind === 'local';
}

/**
 * The status the client gets for a failure (RFC 9110 §15.6.3 502, §15.6.5 504; §15.6.4 503
 * when the gateway itself is out of resources: "temporarily overloaded").
 */
export function statusFor(kind: FailureKind): number {
  if (kind === 'timeout' || kind === 'connect-timeout') return 504;
  if (kind === 'local') return 503;
  if (kind === 'client') return 400;
  return 502;
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  404: 'Not Found',
  405: 'Method Not Allowed',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Answers with a short text body, unless the response already started (then it is cut). */
export function replyText(res: ServerResponse, status: number, text: string, extra?: Readonly<Record<string, string | string[]>>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${text}\n`;
  res.writeHead(status, {
    ...extra,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** Writes a complete HTTP/1.1 answer on a raw socket and closes it (parse errors, upgrades). */
export function replyRaw(socket: Socket, status: number, text: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${text}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n` +
      `content-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
  );
}
