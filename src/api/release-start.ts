/**
 * Turns a start-release request into the store's ReleaseInput: plan and analysis compiled
 * once (percent → basis points, durations → ms, defaults filled), endpoints checked, a fresh
 * random salt so every release splits users anew, by the current bucket hash (xxh32).
 */
import { randomBytes } from 'node:crypto';
import type { CustomCheck } from '../core/custom-checks.js';
import { ValidationError } from '../core/errors.js';
import { compileAnalysis, compilePlan, type AnalysisInput, type StepInput } from '../core/plan.js';
import { CURRENT_BUCKET_HASH } from '../core/sticky.js';
import type { Clock, Webhook } from '../core/types.js';
import { compileWebhooks, hooksOf, type WebhookInput } from '../core/webhooks.js';
import type { ReleaseInput } from '../store/store.js';
import { compileEndpoints } from './input.js';

export interface StartRequest {
  readonly version: string;
  readonly endpoints?: readonly string[];
  readonly steps?: string | readonly StepInput[];
  readonly analysis?: AnalysisInput;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly webhooks?: readonly WebhookInput[];
}

/** A new release id: `rel_` + 16 hex characters. */
export function newReleaseId(): string {
  return `rel_${randomBytes(8).toString('hex')}`;
}

/**
 * Builds the release to create. With endpoints it starts `progressing` at the first step's
 * weight; without (a deploy driver will start them), or when a `pre-rollout` webhook of the
 * release or of its service (`serviceWebhooks`) must agree first, it waits `pending` at weight 0.
 * @throws ValidationError (TERN_INVALID_PLAN / _WEIGHT / _DURATION / _REQUEST) naming the body field.
 */
export function buildRelease(
  service: string,
  body: StartRequest,
  createdBy: string,
  clock: Clock,
  serviceWebhooks: readonly Webhook[] = [],
): ReleaseInput {
  const steps = compilePlan(body.steps, 'body.steps');
  const analysis = compileAnalysis(body.analysis, 'body.analysis');
  const webhooks = compileWebhooks(body.webhooks, 'body.webhooks');
  const endpoints = body.endpoints ? compileEndpoints(body.endpoints, 'body.endpoints') : [];
  const ready = endpoints.length > 0 && hooksOf('pre-rollout', webhooks, serviceWebhooks).length === 0;
  return {
    id: newReleaseId(),
    service,
    version: body.version,
    endpoints,
    status: ready ? 'progressing' : 'pending',
    stepIndex: 0,
    weight: ready ? steps[0]!.weight : 0,
    salt: randomBytes(16).toString('base64url'),
    bucketHash: CURRENT_BUCKET_HASH,
    steps,
    analysis,
    metadata: { ...body.metadata },
    webhooks,
    deployment: null,
    createdBy,
    startedAt: clock(),
  };
}

/**
 * Refuses custom checks that no Prometheus would answer: each needs its own `url` or the
 * server's `--prometheus-url`.
 * @throws ValidationError naming the first such check.
 */
export function prometheusFor(checks: readonly CustomCheck[], serverUrl: string | undefined, field: string): void {
  if (serverUrl !== undefined) return;
  const i = checks.findIndex((c) => c.url === null);
  if (i >= 0)
    throw new ValidationError(
      `${field}[${i}].url`,
      `check "${checks[i]!.name}" names no Prometheus and this server has no --prometheus-url; give the check a url (e.g. http://prometheus:9090) or start the server with --prometheus-url`,
    );
}
