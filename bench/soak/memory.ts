/**
 * The soak's memory sampler: every 10 s, the resident memory of each Tern process role (a
 * server; a gateway's primary and workers together), and at the end a trend per role — the
 * least-squares slope over the last 5 minutes of the role's current processes, when they ran at least 2 minutes (a restart or a
 * replaced worker starts a new series: a fresh process is small, which is no trend).
 */
import { sample } from '../scale/probe.js';

interface Point {
  readonly at: number;
  readonly mib: number;
  /** The pids summed, sorted: a change means a new series. */
  readonly pids: string;
}

export class MemorySampler {
  readonly #series = new Map<string, Point[]>();
  readonly #timer: NodeJS.Timeout;
  readonly #roles: () => Record<string, number[]>;

  constructor(roles: () => Record<string, number[]>, everyMs = 10_000) {
    this.#roles = roles;
    this.sampleNow();
    this.#timer = setInterval(() => this.sampleNow(), everyMs);
  }

  sampleNow(): void {
    const at = Date.now();
    for (const [role, pids] of Object.entries(this.#roles())) {
      const samples = pids.map(sample).filter((s) => s !== null);
      const mib = samples.reduce((a, s) => a + s.rss, 0) / 1_048_576;
      const list = this.#series.get(role) ?? [];
      list.push({ at, mib, pids: samples.map((s) => s.pid).join(',') });
      this.#series.set(role, list);
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One line per role: every sample (MiB), then the trend of the last `windowMs` of its current processes. */
  report(windowMs = 300_000): string[] {
    const lines: string[] = [];
    for (const [role, list] of this.#series) {
      const last = list.at(-1);
      if (last === undefined) continue;
      let from = list.length - 1;
      while (from > 0 && list[from - 1]!.pids === last.pids && last.at - list[from - 1]!.at <= windowMs) from--;
      const seg = list.slice(from);
      const spanMin = (last.at - seg[0]!.at) / 60_000;
      const trend =
        spanMin < 2
          ? `none: its processes changed (restart, replaced worker) ${spanMin.toFixed(1)} min before the end`
          : `${slope(seg).toFixed(2)} MiB/min over the last ${spanMin.toFixed(1)} min (${seg[0]!.mib.toFixed(1)} → ${last.mib.toFixed(1)} MiB)`;
      lines.push(`  ${role.padEnd(10)} trend ${trend}`);
      lines.push(`  ${''.padEnd(10)} every 10 s: ${list.map((p) => p.mib.toFixed(0)).join(' ')}`);
    }
    return lines;
  }
}

/** Least-squares slope of MiB over minutes. */
function slope(points: readonly Point[]): number {
  const xs = points.map((p) => p.at / 60_000);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = points.reduce((a, p) => a + p.mib, 0) / points.length;
  let num = 0;
  let den = 0;
  points.forEach((p, i) => {
    num += (xs[i]! - mx) * (p.mib - my);
    den += (xs[i]! - mx) ** 2;
  });
  return den === 0 ? 0 : num / den;
}
