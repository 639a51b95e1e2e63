/**
 * How releases read in a terminal: the detail block for `release status`, the table for
 * `release list`, and the one-line summaries the action commands print.
 */
import { describeChecks, judgeWords } from '../../core/analysis-words.js';
import { formatDuration } from '../../core/duration.js';
import { formatAge, formatPercent, formatTime, orDash, renderDetails, renderTable } from '../output.js';
import type { ReleaseView, StepView } from '../views.js';
import { stepNumber } from '../watch/events.js';

/** The full picture of one release, plan included, with the current step marked. */
export function renderRelease(r: ReleaseView): string {
  const details = renderDetails([
    ['Release', r.id],
    ['Service', r.service],
    ['Version', r.baseline ? `${r.version} (replacing ${r.baseline.version})` : r.version],
    ['Status', r.status],
    ['Weight', weightLine(r)],
    ['Step', stepSummary(r)],
    ['Started', `${formatTime(r.startedAt)} (${formatAge(r.startedAt)})`],
    ['Ended', r.endedAt ? `${formatTime(r.endedAt)} (${formatAge(r.endedAt)})` : '-'],
    ['Reason', orDash(r.reason)],
    ['Started by', orDash(r.createdBy)],
    ['Endpoints', r.endpoints?.length ? r.endpoints.join('\n') : '-'],
    ['Analysis', r.analysis ? [judgeWords(r.analysis), ...describeChecks(r.analysis)].join('\n') : '-'],
    ['Metadata', metadataLines(r.metadata)],
  ]);
  if (!r.steps?.length) return details;
  const plan = renderTable<{ step: StepView; i: number }>(
    [
      { header: ' ', value: ({ i }) => (i === r.stepIndex && !isEnded(r) ? '>' : ' ') },
      { header: 'step', value: ({ i }) => String(i + 1) },
      { header: 'weight', value: ({ step }) => formatPercent(step.weight) },
      { header: 'hold', value: ({ step }) => hold(step) },
      { header: 'analysis', value: ({ step }) => (step.analysis === false ? 'no' : 'yes') },
    ],
    r.steps.map((step, i) => ({ step, i })),
  );
  return `${details}\n\nPlan\n${plan.replace(/^/gm, '  ')}`;
}

/** Table of releases, newest first as the API returns them. */
export function renderReleaseTable(releases: readonly ReleaseView[]): string {
  return renderTable<ReleaseView>(
    [
      { header: 'id', value: (r) => r.id },
      { header: 'version', value: (r) => r.version },
      { header: 'status', value: (r) => r.status },
      { header: 'weight', value: (r) => formatPercent(r.weight) },
      {
        header: 'step',
        value: (r) => (r.steps?.length ? `${stepNumber(r)}/${r.steps.length}` : String(stepNumber(r))),
      },
      { header: 'started', value: (r) => formatAge(r.startedAt) },
      { header: 'ended', value: (r) => formatAge(r.endedAt) },
      { header: 'reason', value: (r) => orDash(r.reason) },
    ],
    releases,
  );
}

/** One line after an action, e.g. `Release rel_… (checkout v2): progressing at 25% (step 2 of 3).` */
export function releaseLine(r: ReleaseView): string {
  return `Release ${r.id} (${r.service} ${r.version}): ${where(r)}.`;
}

function where(r: ReleaseView): string {
  switch (r.status) {
    case 'promoted':
      return `promoted; ${r.version} is now the stable version`;
    case 'rolled_back':
      return `rolled_back; every user is back on ${r.baseline?.version ?? 'the stable version'}`;
    case 'failed':
      return `failed${r.reason ? ` (${r.reason})` : ''}`;
    default:
      return `${r.status} at ${formatPercent(r.weight)} (step ${stepOf(r)})`;
  }
}

function weightLine(r: ReleaseView): string {
  const text = `${formatPercent(r.weight)} of users on ${r.version}`;
  const step = r.steps?.[r.stepIndex];
  return step && !isEnded(r) && step.weight !== r.weight
    ? `${text} (set by hand; the step's weight is ${formatPercent(step.weight)})`
    : text;
}

function stepSummary(r: ReleaseView): string {
  const at = stepNumber(r) - 1;
  const step = r.steps?.[at];
  if (!step) return stepOf(r);
  if (at !== r.stepIndex) {
    // promote --full: the release went to 100% from an earlier step; say which, and that the rest was skipped.
    return `${stepOf(r)}: ${formatPercent(step.weight)} (promoted in full from step ${r.stepIndex + 1} at ${formatPercent(r.steps?.[r.stepIndex]?.weight)}; the steps between were skipped)`;
  }
  return `${stepOf(r)}: ${formatPercent(step.weight)}, hold ${hold(step)}${r.stepStartedAt && !isEnded(r) ? `, entered ${formatAge(r.stepStartedAt)}` : ''}`;
}

function stepOf(r: ReleaseView): string {
  return r.steps?.length ? `${stepNumber(r)} of ${r.steps.length}` : String(stepNumber(r));
}

function hold(step: StepView): string {
  if (step.hold) return step.hold;
  return step.holdMs === undefined ? '-' : formatDuration(step.holdMs);
}

function isEnded(r: ReleaseView): boolean {
  return r.endedAt !== null && r.endedAt !== undefined;
}

function metadataLines(metadata: ReleaseView['metadata']): string {
  const entries = Object.entries(metadata ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join('\n') : '-';
}
