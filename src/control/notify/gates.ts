/**
 * Webhook gates (`pre-rollout`, `confirm-step`, `pre-promotion`): the runner asks, once a tick,
 * whether a release may pass a gate, and never waits for the answer. The first ask starts the
 * calls (every hook of the gate, concurrently, each under its own timeout); later asks read
 * their results. A hook that answered 2xx has passed this gate; one that failed is called again
 * after a backoff (1 s, 2 s, 4 s … at most 1 min, on the controller's clock); `maxFailures`
 * consecutive failures of one hook fail the gate, naming the hook and its last answer.
 * State lives in memory per release: a restarted controller asks the gates again.
 */
import type { Logger } from 'pino';
import type { Clock, Release, Webhook } from '../../core/types.js';
import { redactUrl } from '../../core/webhooks.js';
import { postWithRetries, type Answer, type Poster } from './deliver.js';
import { gateBody } from './payload.js';

export type GateName = 'pre-rollout' | 'confirm-step' | 'pre-promotion';

export type GateStatus =
  { readonly kind: 'open' } | { readonly kind: 'waiting'; readonly detail: string } | { readonly kind: 'failed'; readonly reason: string };

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
  failures: number;
  last: string | null;
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
    hs.failures += 1;
    hs.last = answer.detail;
    hs.nextAt = options.clock() + backoff(hs.failures);
    options.logger?.warn(
      {
        release: ask.release.id,
        gate: ask.gate,
        hook: redactUrl(hs.hook.url),
        answer: answer.detail,
        failures: hs.failures,
        delivery: answer.delivery,
      },
      'webhook gate refused; the release holds',
    );
  }

  return {
    check(ask) {
      let state = states.get(ask.release.id);
      if (state?.key !== ask.key) {
        state = {
          key: ask.key,
          hooks: ask.hooks.map((hook) => ({ hook, passed: false, failures: 0, last: null, nextAt: 0, inflight: null })),
        };
        states.set(ask.release.id, state);
      }
      const broken = state.hooks.find((hs) => hs.failures >= hs.hook.maxFailures);
      if (broken) {
        return {
          kind: 'failed',
          reason: `${ask.gate} webhook ${redactUrl(broken.hook.url)} failed ${broken.failures} times in a row; last answer: ${broken.last ?? 'none'}`,
        };
      }
      const now = options.clock();
      for (const hs of state.hooks) if (!hs.passed && !hs.inflight && now >= hs.nextAt) start(ask, hs);
      const waiting = state.hooks.filter((hs) => !hs.passed);
      if (waiting.length === 0) return { kind: 'open' };
      const detail = waiting
        .map((hs) => `${redactUrl(hs.hook.url)}: ${hs.inflight ? 'waiting for an answer' : `${hs.last ?? 'not called yet'}`}`)
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
