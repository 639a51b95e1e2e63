/**
 * Writes the audit aggregates of accepted feedback (Store.flushFeedbackAudit): every
 * `FEEDBACK_FLUSH_INTERVAL_MS` the minutes that are over, and on close the open ones too, so
 * an operator who stops the server finds every score's audit. The aggregates are durable in
 * the store meanwhile; a crash only delays them to the next flush, by any process.
 */
import type { ApiDeps, TernApp } from '../route-config.js';

/** How often closed minutes are written: an aggregate appears at most this long after its minute. */
export const FEEDBACK_FLUSH_INTERVAL_MS = 10_000;

/** Starts the periodic flush (every `intervalMs`) when the app is ready; flushes everything when it closes. */
export function registerFeedbackAuditFlush(
  app: TernApp,
  { store, clock }: Pick<ApiDeps, 'store' | 'clock'>,
  intervalMs = FEEDBACK_FLUSH_INTERVAL_MS,
): void {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  // One flush at a time: a slow one is followed, not overlapped, by the next.
  const flush = (closedBy: () => number): Promise<void> =>
    (running = running.then(async () => {
      try {
        await store.flushFeedbackAudit(closedBy());
      } catch (err) {
        app.log.warn({ err }, 'could not write the feedback audit aggregates; they are kept for the next flush');
      }
    }));

  app.addHook('onReady', (done) => {
    timer = setInterval(() => void flush(clock), intervalMs);
    timer.unref();
    done();
  });
  app.addHook('onClose', async () => {
    if (timer === undefined) return; // never ready, so it never took a score
    clearInterval(timer);
    await flush(() => Number.MAX_SAFE_INTEGER);
  });
}
