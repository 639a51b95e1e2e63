/**
 * `event` notifications: every committed release change (start, advance, pause, resume,
 * promote, rollback, end — whoever made it: controller or person) is sent to the event hooks
 * of the release and its service, fire-and-forget. The store's change feed is the source, so
 * nothing the audit log records is missed; only the leader controller sends, so several
 * controllers sharing PostgreSQL do not repeat them. A bounded queue (oldest dropped when full)
 * and a few workers keep slow receivers from ever blocking the controller; each receiver gets
 * its deliveries one at a time, in order; each delivery is retried a bounded number of times;
 * failures are logged.
 */
import type { Logger } from 'pino';
import type { AuditEvent, Release, Webhook } from '../../core/types.js';
import { hooksOf, redactUrl } from '../../core/webhooks.js';
import type { Store, StoreChange } from '../../store/store.js';
import { postWithRetries, type Call, type Poster } from './deliver.js';
import { eventBody, slackBody } from './payload.js';

export interface NotifierOptions {
  readonly store: Store;
  readonly post: Poster;
  readonly logger?: Logger | undefined;
  /** Whether this process should send (holds the controller lease). */
  readonly isLeader: () => Promise<boolean>;
  /** Deliveries waiting beyond this drop the oldest. Default 1000. */
  readonly queueLimit?: number;
  /** Deliveries in flight at once. Default 4. */
  readonly concurrency?: number;
  /** Wait before retry n (1-based). Default 1 s · 2^(n-1). */
  readonly retryDelayMs?: (attempt: number) => number;
}

export interface Notifier {
  /** Resolves once the queue is empty and nothing is in flight. */
  idle(): Promise<void>;
  /** Stops listening, gives queued deliveries up to `drainMs` (default 2 s), then drops the rest. */
  stop(drainMs?: number): Promise<void>;
}

interface Job {
  readonly hook: Webhook;
  readonly call: Call;
}

/** The event hooks that want `action`. */
function wanting(action: string, release: Release, serviceHooks: readonly Webhook[] | undefined): Webhook[] {
  return hooksOf('event', release.webhooks, serviceHooks).filter((h) => h.events === null || h.events.includes(action));
}

function jobFor(hook: Webhook, event: AuditEvent, release: Release): Job {
  const body = hook.format === 'slack' ? slackBody(event, release) : eventBody(event, release);
  return { hook, call: { url: hook.url, event: event.action, body, timeoutMs: hook.timeoutMs } };
}

/** Starts listening to the store; returns the handle. */
export function startNotifier(options: NotifierOptions): Notifier {
  const queue: Job[] = [];
  const limit = options.queueLimit ?? 1000;
  const concurrency = options.concurrency ?? 4;
  const retryDelay = options.retryDelayMs ?? ((n: number) => 1000 * 2 ** (n - 1));
  const waiters: Array<() => void> = [];
  const busy = new Set<string>();
  let active = 0;
  let preparing = 0;
  let stopped = false;
  const quiet = (): boolean => active === 0 && queue.length === 0 && preparing === 0;

  function enqueue(job: Job): void {
    if (stopped) return;
    if (queue.length >= limit) {
      const dropped = queue.shift();
      options.logger?.warn(
        { hook: dropped && redactUrl(dropped.hook.url), event: dropped?.call.event, limit },
        'notification queue full; oldest dropped',
      );
    }
    queue.push(job);
    pump();
  }

  /** Starts queued jobs up to `concurrency`, one at a time per URL so each receiver hears changes in order. */
  function pump(): void {
    for (;;) {
      const next = active < concurrency ? queue.findIndex((j) => !busy.has(j.hook.url)) : -1;
      if (next < 0) break;
      const [job] = queue.splice(next, 1) as [Job];
      active += 1;
      busy.add(job.hook.url);
      void send(job).finally(() => {
        active -= 1;
        busy.delete(job.hook.url);
        pump();
      });
    }
    if (quiet()) for (const wake of waiters.splice(0)) wake();
  }

  async function send(job: Job): Promise<void> {
    const answer = await postWithRetries(options.post, job.call, job.hook.retries, retryDelay);
    const log = { hook: redactUrl(job.hook.url), event: job.call.event, answer: answer.detail, delivery: answer.delivery };
    if (answer.ok) options.logger?.debug(log, 'notification delivered');
    else options.logger?.warn({ ...log, attempts: job.hook.retries + 1 }, 'notification failed; given up');
  }

  async function onChange(change: StoreChange): Promise<void> {
    if (change.kind !== 'release' || change.audit.outcome !== 'success') return;
    const release = await options.store.getRelease(change.id);
    if (!release) return;
    const service = await options.store.getService(release.service);
    const hooks = wanting(change.audit.action, release, service?.webhooks);
    if (hooks.length === 0 || !(await options.isLeader())) return;
    for (const hook of hooks) enqueue(jobFor(hook, change.audit, release));
  }

  // Changes are prepared one after another, so they are queued in commit order.
  let chain: Promise<void> = Promise.resolve();
  const unsubscribe = options.store.subscribe((change) => {
    preparing += 1;
    chain = chain
      .then(() => onChange(change))
      .catch((err: unknown) => options.logger?.warn({ err, change: change.action }, 'could not prepare notification'))
      .finally(() => {
        preparing -= 1;
        pump();
      });
  });

  const idle = (): Promise<void> => (quiet() ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve)));
  return {
    idle,
    async stop(drainMs = 2000) {
      unsubscribe();
      stopped = true;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([idle(), new Promise((resolve) => (timer = setTimeout(resolve, drainMs)))]);
      clearTimeout(timer);
      if (queue.length > 0) options.logger?.warn({ dropped: queue.length }, 'notifications dropped at shutdown');
      queue.length = 0;
    },
  };
}
