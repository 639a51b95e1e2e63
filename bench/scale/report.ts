/**
 * Figures of the scale bench: the client processes' one-second reports merged into windows
 * (a phase's ramp, its hold, each release step), with latency quantiles from the merged 2%
 * histograms, and the process samples turned into memory, descriptors and CPU.
 */
import { bucketMs, type ClientReport } from './client.js';
import type { ProcSample } from './probe.js';

/** Answers, errors and latency of the reports whose second falls in [from, to). */
export class Window {
  answered = 0;
  v2 = 0;
  opened = 0;
  idleClosed = 0;
  maxMs = 0;
  loopP99Ms = 0;
  readonly errors = new Map<string, number>();
  readonly #hist = new Map<number, number>();

  constructor(
    readonly name: string,
    readonly from: number,
    public to: number,
  ) {}

  add(r: ClientReport): void {
    this.answered += r.answered;
    this.v2 += r.v2;
    this.opened += r.opened;
    this.idleClosed += r.idleClosed;
    this.maxMs = Math.max(this.maxMs, r.maxMs);
    this.loopP99Ms = Math.max(this.loopP99Ms, r.loopP99Ms);
    for (const [k, n] of Object.entries(r.errors)) this.errors.set(k, (this.errors.get(k) ?? 0) + n);
    for (const [b, n] of Object.entries(r.hist)) this.#hist.set(Number(b), (this.#hist.get(Number(b)) ?? 0) + n);
  }

  get failed(): number {
    return [...this.errors.values()].reduce((a, b) => a + b, 0);
  }

  /** The q-quantile of answered requests' latency, ms (upper edge of its 2% bucket). */
  quantile(q: number): number {
    const rank = Math.ceil(q * this.answered);
    let seen = 0;
    for (const b of [...this.#hist.keys()].sort((x, y) => x - y)) {
      seen += this.#hist.get(b) ?? 0;
      if (seen >= rank) return Math.min(bucketMs(b), this.maxMs);
    }
    return NaN;
  }

  seconds(): number {
    return Math.max(1, (this.to - this.from) / 1000);
  }
}

const n0 = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => (Number.isNaN(n) ? '-' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));
const mib = (b: number): string => (b / 1_048_576).toFixed(1);

/** One line per window: rps, quantiles, failures, canary share. */
export function windowLine(w: Window): string {
  const errors = [...w.errors].map(([k, n]) => `${n} × ${k}`).join(', ');
  const share = w.answered === 0 ? '-' : `${((100 * w.v2) / w.answered).toFixed(1)}%`;
  return (
    `${w.name.padEnd(26)} ${n0(w.answered).padStart(9)} ok  ${n0(w.answered / w.seconds()).padStart(6)} rps  ` +
    `p50 ${ms(w.quantile(0.5))} ms  p99 ${ms(w.quantile(0.99))} ms  max ${ms(w.maxMs)} ms  failed ${w.failed}` +
    `${errors ? ` (${errors})` : ''}  v2 ${share}  new conns ${n0(w.opened)}  idle closed by server ${w.idleClosed}  client loop p99 ≤ ${ms(w.loopP99Ms)} ms`
  );
}

export interface GroupFigures {
  readonly name: string;
  readonly count: number;
  readonly rss: number;
  readonly fds: number[];
  /** CPU over the window, % of one core (all processes of the group together). */
  readonly cpuPct: number;
}

/** A group of processes (gateway workers, NGINX workers, clients) at the end of a window, with its CPU seconds over it (CpuMeter). */
export function group(name: string, end: readonly ProcSample[], cpuSeconds: number, seconds: number): GroupFigures {
  return {
    name,
    count: end.length,
    rss: end.reduce((a, s) => a + s.rss, 0),
    fds: end.map((s) => s.fds),
    cpuPct: (100 * cpuSeconds) / Math.max(1, seconds),
  };
}

/**
 * CPU per group over a window from samples taken every second: per process, the growth of its
 * CPU time since the previous sample (a process first seen after the window's start counts from
 * its birth). Unlike a difference of two samples, processes that exit inside the window (an
 * HAProxy worker replaced by a reload) count too, up to their last sample.
 */
export class CpuMeter {
  readonly #last = new Map<number, number>();
  readonly #total = new Map<string, number>();
  #started = false;

  /** The window starts at these samples; `add` counts nothing before. */
  start(samples: Readonly<Record<string, readonly ProcSample[]>>): void {
    for (const list of Object.values(samples)) for (const s of list) this.#last.set(s.pid, s.cpu);
    this.#started = true;
  }

  add(samples: Readonly<Record<string, readonly ProcSample[]>>): void {
    if (!this.#started) return;
    for (const [name, list] of Object.entries(samples))
      for (const s of list) {
        const grew = s.cpu - (this.#last.get(s.pid) ?? 0);
        this.#last.set(s.pid, s.cpu);
        this.#total.set(name, (this.#total.get(name) ?? 0) + grew);
      }
  }

  /** CPU seconds of `name` so far (0 for a group never sampled). */
  seconds(name: string): number {
    return this.#total.get(name) ?? 0;
  }
}

export function groupLine(g: GroupFigures): string {
  const per = g.count > 1 ? ` (${mib(g.rss / g.count)} MiB each)` : '';
  const fds = g.fds.length > 0 ? `  fds ${g.fds.map(n0).join(' / ')}` : '';
  return `  ${g.name.padEnd(22)} ${String(g.count).padStart(2)} proc  RSS ${mib(g.rss)} MiB${per}  CPU ${g.cpuPct.toFixed(0)}% of a core${fds}`;
}

/** Bytes of resident memory per held connection: the growth of `after` over `before`, divided by `held`. */
export function perConnection(before: readonly ProcSample[], after: readonly ProcSample[], held: number): string {
  const grow = after.reduce((a, s) => a + s.rss, 0) - before.reduce((a, s) => a + s.rss, 0);
  return held <= 0 ? '-' : `${(grow / held / 1024).toFixed(1)} KiB`;
}

export { n0, ms, mib };
