/**
 * The live view on a terminal: a status block redrawn in place (ANSI cursor movement, ECMA-48
 * CPL and ED) under a scrolling log of changes. `statusBlock` is pure; `createLiveBlock` only
 * draws, truncating lines to the terminal's width so a wrapped line never breaks the redraw.
 */
import { formatDuration } from '../../core/duration.js';
import { isGateHoldText } from '../../core/gate-hold.js';
import { formatPercent, renderDetails } from '../output.js';
import type { ReleaseView } from '../views.js';
import { checksOf, num, stepNumber } from './events.js';
import type { Snapshot } from './follow.js';

export interface BlockContext {
  /** When the watch began (local clock). */
  readonly startedAt: number;
  /** When `--timeout` ends the wait, or null. */
  readonly deadline: number | null;
}

/** The status block for `snapshot` at `now`, as lines. */
export function statusBlock(s: Snapshot, now: number, ctx: BlockContext): string[] {
  const r = s.release;
  const pairs: Array<[string, string]> = [
    ['Status', statusLine(r, now)],
    ['Traffic', trafficLines(s)],
    ['Judge', judgeLines(s, now)],
    ['Watching', watchLine(now, ctx)],
  ];
  const title = `${r.service} ${r.version}${r.baseline ? ` replacing ${r.baseline.version}` : ''} · release ${r.id}`;
  return [
    title,
    ...renderDetails(pairs)
      .split('\n')
      .map((l) => `  ${l}`),
  ];
}

function statusLine(r: ReleaseView, now: number): string {
  const steps = r.steps?.length ?? 0;
  const base = `${r.status} · step ${stepNumber(r)}/${steps || '?'} · weight ${formatPercent(r.weight)}`;
  return `${base}${holdText(r, now)}`;
}

/** What the current step is waiting for. */
function holdText(r: ReleaseView, now: number): string {
  const step = r.steps?.[r.stepIndex];
  if ((r.status === 'pending' || r.status === 'progressing') && isGateHoldText(r.reason)) return ` · ${r.reason}`;
  if (r.status === 'pending') return ' · waiting for the canary to start';
  if (r.status !== 'progressing' || !step || !r.stepStartedAt) return '';
  if (r.stepAppliedAt === null) return ` · ${r.reason ?? 'waiting for the data planes to apply the weight'}`;
  const left = Date.parse(r.stepAppliedAt ?? r.stepStartedAt) + (step.holdMs ?? 0) - now;
  if (left > 0) return ` · hold ${formatDuration(Math.ceil(left / 1000) * 1000)} left`;
  return step.analysis === false ? ' · hold over' : ' · hold over, waiting for a passing verdict';
}

function trafficLines(s: Snapshot): string {
  if (!s.traffic || s.traffic.every((t) => t.requests === 0)) return 'no requests seen yet';
  return columns(
    s.traffic.map((t) => [
      t.version,
      t.role,
      `${t.requests} req`,
      `${t.errors} err`,
      t.requests ? `${formatPercent((100 * t.errors) / t.requests)} errors` : '-',
    ]),
  );
}

function judgeLines(s: Snapshot, now: number): string {
  const v = s.verdict;
  if (!v) return 'no verdict yet';
  const age = Math.max(0, now - Date.parse(v.at));
  const head = `${v.judge}: ${v.outcome} (step ${v.stepIndex + 1}, ${formatDuration(Math.floor(age / 1000) * 1000)} ago)`;
  const checks = checksOf(v).map((c) => [c.check, c.outcome, c.detail || `${num(c.statistic)} vs ${num(c.bound)}`]);
  return checks.length ? `${head}\n${columns(checks)}` : head;
}

function watchLine(now: number, ctx: BlockContext): string {
  const since = formatDuration(Math.floor((now - ctx.startedAt) / 1000) * 1000);
  const limit =
    ctx.deadline === null ? '' : ` · times out in ${formatDuration(Math.max(0, Math.ceil((ctx.deadline - now) / 1000)) * 1000)}`;
  return `${since}${limit} · Ctrl-C stops watching (the release keeps running)`;
}

/** Left-aligned columns, two spaces apart, no trailing spaces. */
function columns(rows: readonly string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

export interface Terminal {
  write(text: string): void;
  /** Width in characters, when known. */
  readonly columns: number | undefined;
}

export interface LiveBlock {
  /** Replaces the block with `lines`. */
  draw(lines: readonly string[]): void;
  /** Prints `line` above the block (it scrolls away with the log); the block is redrawn under it. */
  log(line: string): void;
}

/** Whether `term` can hold the block: it reports a width (undefined reads as 80) above 0. */
export function canDrawLive(term: Terminal): boolean {
  return (term.columns ?? 80) > 0;
}

/** A block redrawn in place at the bottom of the terminal. */
export function createLiveBlock(term: Terminal): LiveBlock {
  let drawn = 0;
  let current: readonly string[] = [];
  const fit = (line: string): string => {
    const width = (term.columns ?? 80) - 1;
    return line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line;
  };
  // CPL (CSI n F) moves to the start of the line n lines up; ED (CSI J) clears to the end of the screen.
  const erase = (): string => (drawn > 0 ? `\x1b[${drawn}F\x1b[J` : '');
  const render = (): string => current.map((l) => `${fit(l)}\n`).join('');
  return {
    draw(lines) {
      current = lines;
      term.write(`${erase()}${render()}`);
      drawn = lines.length;
    },
    log(line) {
      term.write(`${erase()}${line}\n${render()}`);
      drawn = current.length;
    },
  };
}
