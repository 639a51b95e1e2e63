/**
 * `tern release replay ID [analysis flags]`: what-if replay of a release's stored evidence
 * (POST /api/v1/releases/:id/replay). Prints one row per step — what really happened and what
 * the replay says — then the first failing verdict's checks; `-o json` prints the API's answer.
 */
import type { Command } from 'commander';
import type { ReplayJson } from '../../api/schemas/replay.js';
import { formatDuration } from '../../core/duration.js';
import { addAnalysisOptions, analysisFromFlags, type AnalysisFlags } from '../analysis-flags.js';
import { withContext } from '../context.js';
import { formatPercent, printJson, renderTable } from '../output.js';

type Step = ReplayJson['steps'][number];

const HELP = `
Replays the release's stored evidence second by second as the controller judges it, with the
flags given laid over the release's own analysis settings (no flags: its own settings, which
says exactly what happened). Each step begins when it really began: after a real step change,
evidence comes from the real weight. Writes nothing; a viewer token is enough.
Example: tern release replay rel_… --latency-tolerance 10%,2ms`;

/** Registers `release replay` under `release`. */
export function registerReplayCommand(release: Command): void {
  const replay = release
    .command('replay')
    .description('what-if: judge a past release again under other analysis settings, step by step, beside what happened')
    .argument('<id>', 'release id');
  addAnalysisOptions(replay)
    .addHelpText('after', HELP)
    .action((id: string, opts: AnalysisFlags, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const analysis = analysisFromFlags(opts);
        const report = await ctx.client.replayRelease(id, analysis === undefined ? {} : { analysis });
        if (ctx.output === 'json') return printJson(ctx.io, report);
        ctx.io.out(renderReplay(report));
      }),
    );
}

/** The report as a person reads it: settings, the one-sentence answer, the step table, the failing checks. */
export function renderReplay(r: ReplayJson): string {
  const a = r.analysis;
  const settings =
    `${a.judge} judge, latency ${pct(a.latency.tolerance)},${a.latency.minDifferenceMs}ms, ` +
    `errors ${pct(a.errorRate.tolerance)},${round(a.errorRate.minDifference * 100)}pp, warm-up ${a.warmup}, min requests ${a.minRequests}`;
  const table = renderTable<Step>(
    [
      { header: 'step', value: (s) => String(s.stepIndex + 1) },
      { header: 'weight', value: (s) => formatPercent(s.weight) },
      { header: 'what happened', value: happened },
      { header: 'what replay says', value: says },
    ],
    r.steps,
  );
  const lines = [`Replay of ${r.releaseId} (${r.service} ${r.version}) with ${settings}:`, r.summary, '', table];
  const failing = r.steps.find((s) => s.replay.outcome === 'fail' || s.replay.outcome === 'pause');
  if (failing) {
    lines.push('', `Step ${failing.stepIndex + 1}: ${failing.replay.reason}`);
    for (const c of failing.replay.verdict?.checks ?? []) lines.push(`  ${c.check.padEnd(13)} ${c.outcome.padEnd(12)} ${c.detail}`);
  }
  const notes = r.steps.filter((s) => s.note !== null).map((s) => `  step ${s.stepIndex + 1}: ${s.note ?? ''}`);
  lines.push('', r.note, ...notes);
  return lines.join('\n');
}

function happened(s: Step): string {
  if (!s.real) return 'not reached';
  const took = s.real.endedAt === null ? null : formatDuration(Date.parse(s.real.endedAt) - Date.parse(s.real.startedAt));
  const by = s.real.by && s.real.by !== 'system' ? ` by ${s.real.by}` : '';
  switch (s.real.outcome) {
    case 'running':
      return 'running now';
    case 'rolled-back':
      return `rolled back after ${took}${by}`;
    default:
      return `${s.real.outcome} after ${took}${by}`;
  }
}

function says(s: Step): string {
  const after = s.replay.afterMs === null ? '' : ` after ${formatDuration(s.replay.afterMs)}`;
  switch (s.replay.outcome) {
    case 'fail':
      return `FAILED${after} (${s.replay.action === 'pause' ? 'pause' : 'roll back'})`;
    case 'pause':
      return `paused undecided${after}`;
    case 'pass':
      return `passed${after}: ${s.replay.reason.replace(/^step \d+\/\d+ \([^)]*\) /, '')}`;
    case 'undecided':
      return `undecided: ${s.replay.verdict ? `${s.replay.verdict.outcome} when the real step ended` : 'no verdict'}`;
    case 'not-reached':
      return `not reached (${s.replay.reason})`;
    case 'no-evidence':
      return 'no evidence (never really reached)';
    default:
      return s.replay.outcome;
  }
}

function pct(fraction: number): string {
  return `${round(fraction * 100)}%`;
}

function round(n: number): number {
  return Number(n.toPrecision(6));
}
