/**
 * Connection limits and timeouts of the API listener: idle and slow connections must not
 * exhaust the process. Node's own defaults are generous (requests may take 300 s to
 * arrive, headers 60 s) and Fastify's keep-alive lasts 72 s with no cap on connections or on
 * requests per socket. Long answers are unaffected: a routing long-poll waits at most 60 s and
 * an SSE stream sends a heartbeat every 15 s, both well inside the idle timeout.
 */
export interface ListenerLimits {
  /** Time to receive a request's headers, ms (node `headersTimeout`; answered 408). */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request, body included, ms (node `requestTimeout`; answered 408). */
  readonly requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this, ms. */
  readonly keepAliveTimeoutMs: number;
  /** A socket with no traffic at all for this long is closed, ms (above the 60 s long-poll). */
  readonly idleTimeoutMs: number;
  /** Requests served on one connection before it is closed (the client reconnects). */
  readonly maxRequestsPerSocket: number;
  /** Open connections accepted at once; further ones are closed by node at accept. */
  readonly maxConnections: number;
  /** Header fields per request; more are answered 400 (node silently drops those past its own 2,000). */
  readonly maxHeaderCount: number;
}

export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 90_000,
  maxRequestsPerSocket: 1_000,
  maxConnections: 1_024,
  maxHeaderCount: 100,
};

/** Fills defaults and checks every limit is a positive integer, headers before the whole request. @throws RangeError */
export function compileListenerLimits(partial: Partial<ListenerLimits> = {}): ListenerLimits {
  const limits = { ...DEFAULT_LISTENER_LIMITS, ...partial };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`listener limit ${key} must be a positive integer, got ${value}`);
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new RangeError(`headersTimeoutMs (${limits.headersTimeoutMs}) must not exceed requestTimeoutMs (${limits.requestTimeoutMs})`);
  }
  return limits;
}
