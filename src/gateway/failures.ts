/**
 * Upstream failure classification and the gateway's own short answers.
 *
 * Kinds: `connect` (refused, unreachable, connect timeout: nothing reached the upstream, so an
 * idempotent request may be retried elsewhere), `reset` (connection lost before the response
 * headers), `timeout` (no response headers in time), `aborted` (our side cancelled, i.e. the
 * client left), `client` (the client's body broke its own framing), `other`.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type FailureKind = 'connect' | 'connect-timeout' | 'reset' | 'timeout' | 'aborted' | 'client' | 'other';

const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

export function classify(err: unknown): FailureKind {
  const code = (err as { code?: unknown } | null)?.code;
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR') return 'aborted';
  if (typeof code !== 'string') return 'other';
  if (CONNECT_CODES.has(code)) return 'connect';
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

/** The status the client gets for a failure (RFC 9110 §15.6.3 502, §15.6.5 504). */
export function statusFor(kind: FailureKind): number {
  if (kind === 'timeout' || kind === 'connect-timeout') return 504;
  if (kind === 'client') return 400;
  return 502;
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  404: 'Not Found',
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
