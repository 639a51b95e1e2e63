/**
 * Webhook gates (`pre-rollout`, `confirm-step`, `pre-promotion`): the runner asks, once a tick,
 * whether a release may pass a gate, and never waits for the answer. The first ask starts the
 * calls (every hook of the gate, concurrently, each under its own timeout); later asks read
 * their results. A hook that answered 2xx has passed this gate. One that said no is asked again
 * after a backoff (1 s, 2 s, 4 s … at most 1 min, on the controller's clock), and its answer is
 * told apart (core/gate-hold.ts): a deliberate refusal (4xx) holds the release for as long as
 * the gate refuses; an outage (5xx, timeout, no connection) holds it too, but `maxFailures`
 * consecutive outages of one hook fail the gate, naming the hook and its last answer.
 * State lives in memory per release: a restarted controller asks the gates again.
 */
import type { Logger } from 'pino';
import { isRefusal, type GateHold } from '../../core/gate-hold.js';
import type { Clock, Release, Webhook } from '../../core/types.js';
import { redactUrl } from '../../core/webhooks.js';
import { postWithRetries, type Answer, type Poster } from './deliver.js';
import { gateBody } from './payload.js';

export type GateName = 'pre-rollout' | 'confirm-step' | 'pre-promotion';

/**
 * `open`: every hook said yes. `waiting`: asked, no answer yet. `held`: a hook refused or was
 * unreachable and is asked again after its backoff. `failed`: a hook was unreachable
 * `maxFailures` times in a row.
 */
export type GateStatus =
  | { readonly kind: 'open' }
  | { readonly kind: 'waiting'; readonly detail: string }
  | { readonly kind: 'held'; readonly hold: GateHold }
  | { readonly kind: 'failed'; readonly hold: GateHold };

export interface GateAsk {
  readonly release: Release;
  readonly gate: GateName;
  /** Identifies one crossing, e.g. `confirm-step:2`; a new key starts the gate afresh. */
  readonly key: string;
  readonly hooks: readonly Webhook[];
  /** confirm-step: the step the release would move to. */
  readonly toStep: number | null;
}

export interface GateKeeper {
  /** Where the release stands at the gate; starts due calls without waiting for them. */
  check(ask: GateAsk): GateStatus;
  /** Forgets every release not in `keep` (ended or gone). */
  prune(keep: ReadonlySet<string>): void;
  /** Resolves once no gate call is in flight. */
  idle(): Promise<void>;
}

export interface GateOptions {
  readonly post: Poster;
  readonly clock: Clock;
  readonly logger?: Logger | undefined;
  /** Called when a call finishes, so the runner can look again without waiting a whole tick. */
  readonly onSettled?: () => void;
  /** Backoff after the n-th consecutive failure, ms. Default min(1 s · 2^(n-1), 60 s). */
  readonly backoffMs?: (failures: number) => number;
}

interface HookState {
  readonly hook: Webhook;
  passed: boolean;
  /** Consecutive outages; a refusal (an answer) resets them. */
  failures: number;
  /** Consecutive refusals, for the backoff. */
  refusals: number;
  /** The latest no, with when its run began. */
  last: {
    readonly kind: 'refused' | 'unreachable';
    readonly status: number | null;
    readonly detail: string;
    readonly reason: string | null;
    readonly since: number;
  } | null;
  nextAt: number;
  inflight: Promise<void> | null;
}

const defaultBackoff = (n: number): number => Math.min(1000 * 2 ** (n - 1), 60_000);

/** Creates the gate keeper. */
export function createGateKeeper(options: GateOptions): GateKeeper {
  const states = new Map<string, { key: string; hooks: HookState[] }>();
  const backoff = options.backoffMs ?? defaultBackoff;

  function start(ask: GateAsk, hs: HookState): void {
    const body = gateBody(ask.gate, ask.release, hs.failures + 1, ask.toStep);
    const call = { url: hs.hook.url, event: ask.gate, body, timeoutMs: hs.hook.timeoutMs };
    hs.inflight = postWithRetries(options.post, call, hs.hook.retries, (n) => backoff(n))
      .then((answer) => settle(ask, hs, answer))
      .finally(() => {
        hs.inflight = null;
        options.onSettled?.();
      });
  }

  function settle(ask: GateAsk, hs: HookState, answer: Answer): void {
    if (answer.ok) {
      hs.passed = true;
      return;
    }
    const now = options.clock();
    const kind = isRefusal(answer.status) ? 'refused' : 'unreachable';
    // A run of one kind keeps its start; a refusal after an outage (or the reverse) starts a new run.
    const since = hs.last?.kind === kind ? hs.last.since : now;
    if (kind === 'refused') {
      hs.failures = 0;
      hs.refusals += 1;
    } else {
      hs.refusals = 0;
      hs.failures += 1;
    }
    hs.last = { kind, status: answer.status, detail: answer.detail, reason: answer.reason, since };
    hs.nextAt = now + backoff(Math.max(hs.failures, hs.refusals));
    options.logger?.warn(
      {
        release: ask.release.id,
        gate: ask.gate,
        hook: redactUrl(hs.hook.url),
        answer: answer.detail,
        kind,
        failures: hs.failures,
        delivery: answer.delivery,
      },
      kind === 'refused' ? 'webhook gate refused; the release holds' : 'webhook gate unreachable; the release holds',
    );
  }

  function holdOf(ask: GateAsk, hs: HookState): GateHold | null {
    if (!hs.last) return null;
    return {
      gate: ask.gate,
      hook: redactUrl(hs.hook.url),
      answer: hs.last.kind,
      status: hs.last.status,
      detail: hs.last.detail,
      reason: hs.last.reason,
      failures: hs.failures,
      maxFailures: hs.hook.maxFailures,
      since: hs.last.since,
    };
  }

  return {
    check(ask) {
      let state = states.get(ask.release.id);
      if (state?.key !== ask.key) {
        state = {
          key: ask.key,
          hooks: ask.hooks.map((hook) => ({ hook, passed: false, failures: 0, refusals: 0, last: null, nextAt: 0, inflight: null })),
        };
        states.set(ask.release.id, state);
      }
      const broken = state.hooks.find((hs) => hs.failures >= hs.hook.maxFailures);
      const brokenHold = broken && holdOf(ask, broken);
      if (brokenHold) return { kind: 'failed', hold: brokenHold };
      const now = options.clock();
      for (const hs of state.hooks) if (!hs.passed && !hs.inflight && now >= hs.nextAt) start(ask, hs);
      const waiting = state.hooks.filter((hs) => !hs.passed);
      if (waiting.length === 0) return { kind: 'open' };
      // A refusal names the gate's decision; it outranks another hook's outage or pending call.
      const said = waiting.find((hs) => hs.last?.kind === 'refused') ?? waiting.find((hs) => hs.last !== null);
      const hold = said && holdOf(ask, said);
      if (hold) return { kind: 'held', hold };
      const detail = waiting
        .map((hs) => `${redactUrl(hs.hook.url)}: ${hs.inflight ? 'waiting for an answer' : 'not called yet'}`)
        .join('; ');
      return { kind: 'waiting', detail: `${ask.gate} gate: ${detail}` };
    },
    prune(keep) {
      for (const id of states.keys()) if (!keep.has(id)) states.delete(id);
    },
    async idle() {
      for (;;) {
        const pending = [...states.values()].flatMap((s) => s.hooks.flatMap((hs) => (hs.inflight ? [hs.inflight] : [])));
        if (pending.length === 0) return;
        await Promise.allSettled(pending);
      }
    },
  };
}
