/**
 * Bodies of Tern's outgoing calls: a release summary (weights in percent, times ISO 8601, no
 * salt), the event notification with its reason and verdict evidence, the gate request, and
 * the Slack incoming-webhook body (`{"text": …}`, https://api.slack.com/messaging/webhooks).
 */
import type { AuditEvent, Release } from '../../core/types.js';

export interface ReleaseSummary {
  readonly id: string;
  readonly service: string;
  readonly version: string;
  readonly baseline: string;
  readonly status: string;
  readonly weight: number;
  readonly step: number;
  readonly steps: number;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly reason: string | null;
  readonly metadata: Readonly<Record<string, string>>;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** What receivers learn about a release (never its salt). */
export function releaseSummary(r: Release): ReleaseSummary {
  return {
    id: r.id,
    service: r.service,
    version: r.version,
    baseline: r.baseline.version,
    status: r.status,
    weight: r.weight / 100,
    step: r.stepIndex + 1,
    steps: r.steps.length,
    startedAt: iso(r.startedAt),
    endedAt: r.endedAt === null ? null : iso(r.endedAt),
    reason: r.reason,
    metadata: { ...r.metadata },
  };
}

/** The verdict evidence an audit event carries (the controller stores it as `detail.checks`). */
export function evidenceOf(event: AuditEvent): unknown {
  const d = event.detail;
  return d && Array.isArray(d.checks) ? { judge: d.judge ?? null, outcome: d.outcome ?? null, checks: d.checks } : null;
}

/** The JSON body of an `event` notification for one audited release change. */
export function eventBody(event: AuditEvent, release: Release): Record<string, unknown> {
  return {
    event: event.action,
    sequence: event.id,
    at: iso(event.at),
    actor: event.actor,
    reason: event.reason ?? release.reason,
    release: releaseSummary(release),
    evidence: evidenceOf(event),
  };
}

const VERBS: Readonly<Record<string, string>> = {
  'release.start': 'started',
  'release.advance': 'advanced',
  'release.pause': 'paused',
  'release.resume': 'resumed',
  'release.promote': 'is being promoted',
  'release.promoted': 'was promoted',
  'release.rollback': 'is rolling back',
  'release.rolled_back': 'was rolled back',
  'release.failed': 'failed',
  'release.weight': 'weight set by hand',
  'release.waiting': 'waits for data planes to apply its weight',
  'release.applied': 'weight applied by every data plane',
  'release.gate': 'is held by a gate',
  'release.no-data': 'holds: no data from Prometheus',
  'release.data-resumed': 'resumes: data from Prometheus again',
};

/** A Slack incoming-webhook body: one readable line plus the reason. */
export function slackBody(event: AuditEvent, release: Release): { text: string } {
  const verb = VERBS[event.action] ?? event.action;
  const head = `*${release.service}* ${release.version} ${verb} — ${release.weight / 100}% on canary, step ${release.stepIndex + 1}/${release.steps.length} (release ${release.id}, by ${event.actor})`;
  const reason = event.reason ?? release.reason;
  return { text: reason ? `${head}\n> ${reason}` : head };
}

/** The body of a gate call: which gate, the release, and (confirm-step) the step it would move to. */
export function gateBody(gate: string, release: Release, attempt: number, toStep: number | null): Record<string, unknown> {
  const next = toStep === null ? null : release.steps[toStep];
  return {
    event: `gate.${gate}`,
    gate,
    attempt,
    release: releaseSummary(release),
    nextStep: next ? { step: (toStep ?? 0) + 1, weight: next.weight / 100 } : null,
  };
}
