/**
 * How a wait ends: which release statuses stop it, the exit code of each outcome (docs/cli.md,
 * `tern --help`), and the final line that says what happened and why.
 */
import { formatDuration } from '../../core/duration.js';
import { EXIT, type ExitCode } from '../errors.js';
import { formatPercent } from '../output.js';
import type { AuditView, ReleaseView } from '../views.js';
import { stepNumber } from './events.js';

/**
 * `promoted`, `rolled_back`, `failed`: the release ended. `paused`: it stopped moving and needs
 * a person, so the wait ends rather than hang a pipeline. `timed_out`, `interrupted`: the
 * watcher stopped; the release keeps running.
 */
export type Outcome = 'promoted' | 'rolled_back' | 'failed' | 'paused' | 'timed_out' | 'interrupted';

export const OUTCOME_EXIT: Readonly<Record<Outcome, ExitCode>> = {
  promoted: EXIT.ok,
  rolled_back: EXIT.rolledBack,
  failed: EXIT.failed,
  paused: EXIT.paused,
  timed_out: EXIT.timedOut,
  interrupted: EXIT.interrupted,
};

/** The outcome a release status ends the wait with, or null to keep waiting. */
export function outcomeOf(status: string): Outcome | null {
  switch (status) {
    case 'promoted':
    case 'rolled_back':
    case 'failed':
    case 'paused':
      return status;
    default:
      return null; // pending, progressing, promoting, rolling_back, or a status newer than this CLI
  }
}

/**
 * The audit actions that decide each ending (newest wins); the controller's bookkeeping moves
 * (`release.promoted`, `release.rolled_back`) only finish what these decided.
 */
const CAUSES: Readonly<Record<Outcome, readonly string[]>> = {
  promoted: ['release.promote'],
  rolled_back: ['release.rollback'],
  failed: ['release.fail'],
  paused: ['release.pause', 'release.weight'],
  timed_out: [],
  interrupted: [],
};

/** Who caused the outcome (`system`, `token:ci`), from the release's audit events (newest first). */
export function causeOf(outcome: Outcome, events: readonly AuditView[]): AuditView | undefined {
  return events.find((e) => e.outcome === 'success' && CAUSES[outcome].includes(e.action));
}

export interface FinalLineContext {
  /** The audit event that caused the outcome, when known. */
  readonly cause?: AuditView | undefined;
  /** The `--timeout` that passed, for `timed_out`. */
  readonly timeoutMs?: number | null;
}

/** The last line of a wait: the outcome, the release, and the reason (the judge's evidence, or the person's). */
export function finalLine(outcome: Outcome, r: ReleaseView, ctx: FinalLineContext = {}): string {
  const name = `${r.service} ${r.version}`;
  const why = reasonText(r, ctx.cause);
  switch (outcome) {
    case 'promoted':
      return `Promoted: ${name} is now the stable version (release ${r.id})${why}`;
    case 'rolled_back':
      return `Rolled back: ${name} (release ${r.id}); every user is back on ${r.baseline?.version ?? 'the stable version'}${why}`;
    case 'failed':
      return `Failed: release ${r.id} of ${name} failed${why}`;
    case 'paused':
      return `Paused: release ${r.id} of ${name} is paused at ${where(r)}; stopped waiting so the pipeline does not hang${why}`;
    case 'timed_out':
      return `Timed out after ${formatDuration(ctx.timeoutMs ?? 0)}: release ${r.id} of ${name} is still ${r.status} at ${where(r)}; it keeps running`;
    case 'interrupted':
      return `Stopped watching: release ${r.id} of ${name} is still ${r.status} at ${where(r)}; it keeps running`;
    default: {
      const never: never = outcome;
      throw new Error(`unknown outcome ${String(never)}`);
    }
  }
}

/** What to run next, printed on stderr after the final line (empty when nothing is left to do). */
export function nextSteps(outcome: Outcome, r: ReleaseView): string[] {
  switch (outcome) {
    case 'paused':
      return [`Resume it with: tern release resume ${r.id}   (or promote / rollback it), then: tern release watch ${r.id}`];
    case 'timed_out':
    case 'interrupted':
      return [`Resume watching with: tern release watch ${r.id}`];
    default:
      return [];
  }
}

/** `10% (step 1 of 2)`. */
export function where(r: ReleaseView): string {
  const steps = r.steps?.length;
  return `${formatPercent(r.weight)} (step ${steps ? `${stepNumber(r)} of ${steps}` : stepNumber(r)})`;
}

/** The deciding event's reason when it is known (a release keeps an older reason when a move gives none). */
function reasonText(r: ReleaseView, cause: AuditView | undefined): string {
  if (!cause) return r.reason ? `; reason: ${r.reason}` : '';
  return cause.reason ? `; by ${cause.actor}, reason: ${cause.reason}` : `; by ${cause.actor}, no reason given`;
}
