/**
 * A release's real step timeline, read back from its audit events (pure): when each step began,
 * at what weight, and how it ended (advanced, promoted, rolled back, paused, failed) and why.
 * Controller moves are recognised by their action (`release.start`, `release.advance`, …);
 * operator moves carry the step they led to in their detail.
 */
import { holdStart } from '../core/data-plane.js';
import { isGateHoldText } from '../core/gate-hold.js';
import type { AuditEvent, Release } from '../core/types.js';

export type RealOutcome = 'advanced' | 'promoted' | 'rolled-back' | 'paused' | 'failed' | 'running' | 'ended';

export interface RealStep {
  readonly stepIndex: number;
  /** Basis points, as the step began (a later hand-set weight is in `notes`). */
  readonly weight: number;
  readonly startedAt: number;
  /** When the step ended; null while it runs. */
  readonly endedAt: number | null;
  readonly outcome: RealOutcome;
  /** Who ended it (`system` for the controller, `token:<name>` for a person). */
  readonly by: string | null;
  readonly reason: string | null;
  /** Hand-set weights, pauses and webhook gates holding the step, as sentences. */
  readonly notes: readonly string[];
}

interface Open {
  stepIndex: number;
  weight: number;
  startedAt: number;
  pausedAt: number | null;
  pausedBy: string | null;
  pauseReason: string | null;
  notes: string[];
}

const ENDINGS: Readonly<Record<string, RealOutcome>> = {
  'release.rollback': 'rolled-back',
  'release.rolling_back': 'rolled-back',
  'release.rolled_back': 'rolled-back',
  'release.fail': 'failed',
  'release.failed': 'failed',
  'release.promote': 'promoted',
  'release.promoted': 'promoted',
};

/**
 * Adds a gate's hold to a step's notes: one note per run of refusals or outages, the latest
 * event of a run (its failure count grew) replacing the one before.
 */
function gateNote(notes: string[], hold: string): void {
  const run = (text: string): string => text.replace(/ \(\d+\/\d+ failures\)/, '');
  const last = notes.at(-1);
  if (last !== undefined && isGateHoldText(last) && run(last) === run(hold)) notes[notes.length - 1] = hold;
  else notes.push(hold);
}

function num(detail: AuditEvent['detail'], key: string): number | null {
  const v = detail?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * The steps the release really went through, oldest first. `events` are the release's audit
 * events in any order; only successful ones count. The current step's start is taken from the
 * release itself (exact), the others from the events that began them.
 */
export function realTimeline(release: Release, events: readonly AuditEvent[]): RealStep[] {
  const target = `release/${release.id}`;
  const ordered = events.filter((e) => e.target === target && e.outcome === 'success').sort((a, b) => a.id - b.id);
  const steps: RealStep[] = [];
  let open: Open | null = null;
  let ended = false;
  const begin = (stepIndex: number, at: number, weight?: number): void => {
    open = {
      stepIndex,
      weight: weight ?? release.steps[stepIndex]?.weight ?? 0,
      startedAt: at,
      pausedAt: null,
      pausedBy: null,
      pauseReason: null,
      notes: [],
    };
  };
  const close = (o: Open, outcome: RealOutcome, e: AuditEvent): void => {
    steps.push({
      stepIndex: o.stepIndex,
      weight: o.weight,
      startedAt: o.startedAt,
      endedAt: e.at,
      outcome,
      by: e.actor,
      reason: e.reason,
      notes: o.notes,
    });
    open = null;
  };
  // A release created with its endpoints ready starts at once; a pending one when the controller starts it.
  const controllerStarted = ordered.some((e) => e.action === 'release.start' && e.actor === 'system');
  if (!controllerStarted && release.status !== 'pending') begin(0, release.startedAt);

  for (const e of ordered) {
    if (ended) break;
    const current = open as Open | null;
    const stepIndex = num(e.detail, 'stepIndex');
    const status = typeof e.detail?.status === 'string' ? e.detail.status : null;
    if (e.action === 'release.start' && e.actor === 'system' && !current) {
      begin(0, e.at);
    } else if (
      ENDINGS[e.action] &&
      (status === null || ['promoting', 'promoted', 'rolling_back', 'rolled_back', 'failed'].includes(status))
    ) {
      if (current) close(current, ENDINGS[e.action]!, e);
      ended = true;
    } else if (current && e.action === 'release.advance') {
      close(current, 'advanced', e);
      begin(current.stepIndex + 1, e.at);
    } else if (current && stepIndex !== null && stepIndex !== current.stepIndex) {
      // An operator moved the release on (promote to the next step).
      close(current, 'advanced', e);
      const weight = num(e.detail, 'weight');
      begin(stepIndex, e.at, weight === null ? undefined : Math.round(weight * 100));
    } else if (current && e.action === 'release.applied' && (stepIndex === null || stepIndex === current.stepIndex)) {
      // The data planes applied the step's weight: its hold and evidence start here, not at the write.
      current.startedAt = num(e.detail, 'appliedAt') ?? e.at;
    } else if (current && e.action === 'release.gate' && e.reason) {
      gateNote(current.notes, e.reason);
    } else if (current && e.action === 'release.weight') {
      current.notes.push(`weight set by hand to ${num(e.detail, 'weight') ?? '?'}% by ${e.actor}`);
    } else if (current && e.action === 'release.pause') {
      current.pausedAt = e.at;
      current.pausedBy = e.actor;
      current.pauseReason = e.reason;
      current.notes.push(`paused by ${e.actor}${e.reason ? `: ${e.reason}` : ''}`);
    } else if (current && e.action === 'release.resume') {
      current.pausedAt = null;
      current.notes.push(`resumed by ${e.actor}`);
    }
  }
  const last = open as Open | null;
  if (last) steps.push(finish(release, last));
  return steps;
}

/** The step still open when the events run out: running, paused, or ended without an event we know. */
function finish(release: Release, o: Open): RealStep {
  const startedAt = release.stepIndex === o.stepIndex ? holdStart(release) : o.startedAt;
  const base = { stepIndex: o.stepIndex, weight: o.weight, startedAt, notes: o.notes };
  if (release.status === 'paused' && o.pausedAt !== null) {
    return { ...base, endedAt: o.pausedAt, outcome: 'paused', by: o.pausedBy, reason: o.pauseReason };
  }
  if (release.endedAt === null) return { ...base, endedAt: null, outcome: 'running', by: null, reason: null };
  return { ...base, endedAt: release.endedAt, outcome: 'ended', by: null, reason: release.reason };
}
