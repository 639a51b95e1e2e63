/**
 * Per-client limit on FAILED authentications (missing, unknown or revoked token), keyed by the
 * caller's address group (client-address.ts). Hand-written rather than @fastify/rate-limit
 * because that plugin counts every request, while here only failures count, and a request
 * with a valid token is never refused (authenticate.ts checks the token first). Fixed window
 * per address, started by its first failure.
 */
import type { Clock } from '../../core/types.js';

export interface FailureLimit {
  /** Failures allowed per window before the address is refused. */
  readonly max: number;
  readonly windowMs: number;
}

export const DEFAULT_FAILURE_LIMIT: FailureLimit = { max: 10, windowMs: 60_000 };

/** Addresses tracked before expired windows are swept, so a spray of addresses cannot grow memory without bound. */
const SWEEP_AT = 10_000;

export interface FailureLimiter {
  /** Milliseconds until `address` may try again, or 0 when it is not blocked. */
  blockedFor(address: string): number;
  /** Counts one failed authentication from `address`. */
  recordFailure(address: string): void;
}

/** Creates a limiter. @throws RangeError when `max` or `windowMs` is not a positive integer. */
export function createFailureLimiter(limit: FailureLimit, clock: Clock): FailureLimiter {
  if (!Number.isInteger(limit.max) || limit.max < 1 || !Number.isInteger(limit.windowMs) || limit.windowMs < 1) {
    throw new RangeError(`authFailureLimit needs positive integers, got max=${limit.max} windowMs=${limit.windowMs}`);
  }
  const windows = new Map<string, { start: number; count: number }>();
  const live = (address: string, now: number) => {
    const w = windows.get(address);
    return w && now - w.start < limit.windowMs ? w : undefined;
  };
  return {
    blockedFor(address) {
      const now = clock();
      const w = live(address, now);
      return w && w.count >= limit.max ? w.start + limit.windowMs - now : 0;
    },
    recordFailure(address) {
      const now = clock();
      const w = live(address, now);
      if (w) w.count += 1;
      else {
        if (windows.size >= SWEEP_AT) sweep(windows, now, limit.windowMs);
        windows.set(address, { start: now, count: 1 });
      }
    },
  };
}

function sweep(windows: Map<string, { start: number }>, now: number, windowMs: number): void {
  for (const [address, w] of windows) if (now - w.start >= windowMs) windows.delete(address);
}
