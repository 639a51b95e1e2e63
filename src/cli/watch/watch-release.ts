/**
 * `release start --wait` and `release watch`: follows a release until it stops moving and
 * reports it — a live block on a terminal, one line per change otherwise (JSON lines with
 * `--output json`) — then ends with the outcome's exit code. `--timeout` and Ctrl-C stop only
 * the watching; the release keeps running.
 */
import { WaitOutcome, type ExitCode } from '../errors.js';
import type { Io } from '../output.js';
import type { TernClient } from '../client.js';
import type { AuditView, ReleaseView } from '../views.js';
import { changesBetween, eventJson, eventText, type WatchEvent } from './events.js';
import { follow, type Snapshot } from './follow.js';
import { canDrawLive, createLiveBlock, statusBlock, type Terminal } from './live-block.js';
import { causeOf, finalLine, nextSteps, OUTCOME_EXIT, outcomeOf, type Outcome } from './outcome.js';

export interface WatchOptions {
  readonly client: TernClient;
  readonly io: Io;
  readonly releaseId: string;
  /** `started` for `start --wait`, `watching` for `watch`: the first line says which. */
  readonly first: 'started' | 'watching';
  /** The release as the start answered it, so an early stop can still name it. */
  readonly initial?: ReleaseView | undefined;
  /** When the command began (the `--timeout` clock starts there). */
  readonly startedAt: number;
  readonly timeoutMs: number | null;
  /** `live`: redrawn block on `terminal` (lines when it reports 0 columns); `lines` / `json`: one line (object) per change. */
  readonly mode: 'live' | 'lines' | 'json';
  readonly terminal?: Terminal | undefined;
  /** Poll cadences, shortened by tests. */
  readonly pollMs?: number;
}

interface Reporter {
  snapshot(s: Snapshot): void;
  notice(text: string): void;
  finish(e: OutcomeEvent, last: Snapshot | null): void;
  /** Stops any timer the reporter runs. */
  close(): void;
}

/**
 * Follows the release and reports it. Resolves when it was promoted.
 * @throws WaitOutcome with the outcome's exit code otherwise (10, 11, 12, 13, 130), or the
 * client's errors when the release cannot be read at all.
 */
export async function watchRelease(o: WatchOptions): Promise<void> {
  const stop = new AbortController();
  const release = stopOn(stop, o);
  // A terminal that reports 0 columns (some CI pseudo-terminals, `script`) cannot hold the block: plain lines then.
  const reporter = o.mode === 'live' && o.terminal && canDrawLive(o.terminal) ? liveReporter(o, o.terminal) : lineReporter(o);
  let last: Snapshot | null;
  try {
    last = await follow({
      client: o.client,
      releaseId: o.releaseId,
      signal: stop.signal,
      connected: o.initial !== undefined,
      traffic: o.mode === 'live',
      pollMs: o.pollMs ?? (o.mode === 'live' ? 2000 : 3000),
      evidenceMs: o.mode === 'live' ? 2000 : 3000,
      onSnapshot: (s) => reporter.snapshot(s),
      onNotice: (text) => reporter.notice(text),
    });
  } finally {
    release();
    reporter.close();
  }
  const event = await conclude(o, stop.signal, last);
  reporter.finish(event, last);
  if (event.release) for (const line of nextSteps(event.outcome, event.release)) o.io.err(line);
  if (event.exitCode !== 0) throw new WaitOutcome(event.exitCode, event.outcome);
}

type OutcomeEvent = Extract<WatchEvent, { event: 'outcome' }> & { readonly outcome: Outcome; readonly exitCode: ExitCode };

/** How the wait ended: the watcher stopped (timeout, Ctrl-C), or the release's status says. */
async function conclude(o: WatchOptions, stopped: AbortSignal, last: Snapshot | null): Promise<OutcomeEvent> {
  const r = last?.release ?? o.initial ?? null;
  const outcome: Outcome = stopped.aborted
    ? stopped.reason === 'timeout'
      ? 'timed_out'
      : 'interrupted'
    : (outcomeOf(r?.status ?? '') ?? 'interrupted');
  const cause = r && !stopped.aborted ? await findCause(o.client, outcome, r.id) : undefined;
  return {
    event: 'outcome',
    outcome,
    exitCode: OUTCOME_EXIT[outcome],
    message: r ? finalLine(outcome, r, { cause, timeoutMs: o.timeoutMs }) : `Stopped watching release ${o.releaseId} (${outcome})`,
    by: cause?.actor ?? null,
    reason: cause ? cause.reason : (r?.reason ?? null),
    release: r,
  };
}

/** Aborts `stop` at the deadline ('timeout') or on Ctrl-C ('interrupted'); returns the cleanup. */
function stopOn(stop: AbortController, o: WatchOptions): () => void {
  const timer =
    o.timeoutMs === null ? undefined : setTimeout(() => stop.abort('timeout'), Math.max(0, o.startedAt + o.timeoutMs - Date.now()));
  const onSigint = (): void => {
    // A second Ctrl-C while the first is being handled leaves at once.
    if (stop.signal.aborted) process.exit(OUTCOME_EXIT.interrupted);
    stop.abort('interrupted');
  };
  process.on('SIGINT', onSigint);
  return () => {
    clearTimeout(timer);
    process.off('SIGINT', onSigint);
  };
}

/** The audit event that decided the outcome, for "by whom"; undefined when it cannot be read. */
async function findCause(client: TernClient, outcome: Outcome, id: string): Promise<AuditView | undefined> {
  try {
    return causeOf(outcome, (await client.listReleaseEvents(id, { signal: AbortSignal.timeout(5000) })).events);
  } catch {
    return undefined;
  }
}

function lineReporter(o: WatchOptions): Reporter {
  let prev: Snapshot | null = null;
  const print = (e: WatchEvent): void => {
    const at = Date.now();
    o.io.out(o.mode === 'json' ? eventJson(e, at, o.releaseId) : eventText(e, at));
  };
  return {
    snapshot(s) {
      for (const e of changesBetween(prev, s, o.first)) print(e);
      prev = s;
    },
    notice: (text) => o.io.err(`warning: ${text}`),
    finish: print,
    close: () => undefined,
  };
}

function liveReporter(o: WatchOptions, terminal: Terminal): Reporter {
  const block = createLiveBlock(terminal);
  const ctx = { startedAt: o.startedAt, deadline: o.timeoutMs === null ? null : o.startedAt + o.timeoutMs };
  let prev: Snapshot | null = null;
  // Redraws every second, so the hold and the timeout count down between snapshots.
  const clock = setInterval(() => prev && block.draw(statusBlock(prev, Date.now(), ctx)), 1000);
  clock.unref();
  return {
    snapshot(s) {
      for (const e of changesBetween(prev, s, o.first)) block.log(eventText(e, Date.now()));
      prev = s;
      block.draw(statusBlock(s, Date.now(), ctx));
    },
    notice: (text) => block.log(`warning: ${text}`),
    finish(e, last) {
      if (last) block.draw(statusBlock(last, Date.now(), ctx));
      terminal.write(`${eventText(e, Date.now())}\n`);
    },
    close: () => clearInterval(clock),
  };
}

/** The process's stdout as a Terminal (its width read at each draw). */
export const processTerminal: Terminal = {
  write: (text) => void process.stdout.write(text),
  get columns() {
    return process.stdout.columns;
  },
};
