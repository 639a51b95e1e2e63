/**
 * Output for people and for machines: `--output table` renders aligned columns and
 * label/value blocks, `--output json` prints the API's JSON unchanged. Data goes to stdout,
 * messages to stderr (so `tern ... -o json | jq` never sees a warning).
 */
import { formatDuration } from '../core/duration.js';
import { formatUtc } from '../core/time-format.js';

export type OutputFormat = 'table' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json'];

/** Where the CLI writes: `out` for data, `err` for messages. Swappable for tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
};

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
}

/** Renders rows as space-aligned columns under upper-case headers (the last column is not padded). */
export function renderTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = [columns.map((c) => c.header.toUpperCase()), ...rows.map((row) => columns.map((c) => oneLine(c.value(row))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Renders `label  value` pairs with the values aligned; multi-line values are indented. */
export function renderDetails(pairs: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...pairs.map(([label]) => label.length)) + 2;
  return pairs.map(([label, value]) => `${label.padEnd(width)}${value.split('\n').join(`\n${' '.repeat(width)}`)}`).join('\n');
}

/** Prints `value` as indented JSON. */
export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value ?? null, null, 2));
}

/** `2025-01-31 14:05:09Z` (UTC, as the dashboard shows it: core/time-format.ts); `-` for none. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  return formatUtc(iso) ?? iso;
}

/** How long ago, e.g. `3m12s ago`; `-` for none. */
export function formatAge(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const ms = Math.max(0, now - t);
  return `${formatDuration(ms < 1000 ? 0 : Math.floor(ms / 1000) * 1000)} ago`;
}

/** Percent with at most two decimals and a `%` sign. */
export function formatPercent(value: number | undefined): string {
  return value === undefined ? '-' : `${Number(value.toFixed(2))}%`;
}

/** `-` for empty, else the text. */
export function orDash(value: string | null | undefined): string {
  return value === undefined || value === null || value === '' ? '-' : value;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
