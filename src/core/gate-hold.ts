/**
 * Why a webhook gate holds a release, in words every surface shares (release reason, audit
 * event, CLI). A gate's answer is one of two kinds: a deliberate **refusal** (it answered 4xx:
 * "not now", e.g. 409 during a change freeze) holds the release until the gate says yes or a
 * person acts; an **outage** (5xx, 3xx, 408, 429, a timeout, no connection, a refused
 * destination) holds it too, but counts toward the hook's `maxFailures`, after which the
 * release rolls back. Pure: no I/O.
 */

export type GateAnswerKind = 'refused' | 'unreachable';

export interface GateHold {
  /** `pre-rollout`, `confirm-step` or `pre-promotion`. */
  readonly gate: string;
  /** The hook's URL with token-like parts redacted. */
  readonly hook: string;
  readonly answer: GateAnswerKind;
  /** The HTTP status, or null when there was none (timeout, connection, refused destination). */
  readonly status: number | null;
  /** A fixed phrase (`HTTP 503 (not a 2xx answer)`, `timed out after 5s`, …): never the receiver's body. */
  readonly detail: string;
  /** A refusal's own short, sanitised reason (the `reason` of a JSON answer), or null. */
  readonly reason: string | null;
  /** Consecutive outages (0 for a refusal). */
  readonly failures: number;
  readonly maxFailures: number;
  /** When this run of refusals (or outages) began, epoch ms. */
  readonly since: number;
}

/** A status a deliberate "no" is told by: 4xx, except 408 (timeout) and 429 (overloaded), which are outages. */
export function isRefusal(status: number | null): boolean {
  return status !== null && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** `2026-12-01T12:01:07Z`: whole seconds are enough to say since when. */
export function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/**
 * The hold as the release's reason, e.g.
 * `held by gate confirm-step (https://ci.example/gate): refused 409 'change freeze' since 2026-12-01T12:01:07Z` or
 * `held by gate confirm-step (https://ci.example/gate): unreachable, timed out after 5s (3/5 failures) since …`.
 */
export function gateHoldText(h: GateHold): string {
  return `held by gate ${h.gate} (${h.hook}): ${answerText(h)} since ${isoSeconds(h.since)}`;
}

/** The reason of the rollback an outage ends in: `gate confirm-step (…) unreachable: HTTP 503 (not a 2xx answer) (5/5 failures since …)`. */
export function gateFailedText(h: GateHold): string {
  return `gate ${h.gate} (${h.hook}) unreachable: ${h.detail} (${h.failures}/${h.maxFailures} failures since ${isoSeconds(h.since)})`;
}

function answerText(h: GateHold): string {
  if (h.answer === 'refused') return `refused ${h.status ?? ''} ${h.reason === null ? '(no reason given)' : `'${h.reason}'`}`;
  return `unreachable, ${h.detail} (${h.failures}/${h.maxFailures} failures)`;
}

/** True for a reason written by `gateHoldText`: the release is held at a gate right now (if it still says so). */
export function isGateHoldText(reason: string | null | undefined): boolean {
  return typeof reason === 'string' && reason.startsWith('held by gate ');
}

/** Characters of a refusal's reason that reach the release. */
export const MAX_GATE_REASON = 80;

/**
 * A refusal's reason as viewers may read it: the top-level string `reason` of a JSON answer,
 * control and non-printing characters dropped, whitespace collapsed, at most 80 characters;
 * null when there is none. Nothing else of a body is ever kept (no read-back of internal answers).
 */
export function sanitizeGateReason(contentType: string | undefined, body: string): string | null {
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(contentType ?? '')) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  const raw = (parsed as { reason?: unknown } | null)?.reason;
  if (typeof raw !== 'string') return null;
  const clean = raw
    .replace(/[^\p{L}\p{N}\p{P}\p{S}\p{Zs}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (clean === '') return null;
  return clean.length > MAX_GATE_REASON ? `${clean.slice(0, MAX_GATE_REASON - 1)}…` : clean;
}
