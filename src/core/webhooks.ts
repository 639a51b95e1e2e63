/**
 * Webhook settings: user input (`{"type":"pre-rollout","url":"https://…","timeout":"5s"}`)
 * compiled once into trusted `Webhook`s with every default filled, and the redaction that
 * keeps webhook secrets (tokens in paths or queries, as in Slack incoming-webhook URLs) out
 * of API answers and logs.
 */
import { parseDuration } from './duration.js';
import { ValidationError } from './errors.js';
import { WEBHOOK_TYPES, type Webhook, type WebhookFormat, type WebhookType } from './types.js';

export interface WebhookInput {
  readonly type: WebhookType;
  readonly url: string;
  readonly timeout?: string | number;
  readonly retries?: number;
  readonly maxFailures?: number;
  readonly format?: WebhookFormat;
  readonly events?: readonly string[];
}

export const MAX_WEBHOOKS = 10;
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5000;
export const MAX_WEBHOOK_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_FAILURES = 5;
/** Events are fire-and-forget but worth a few tries; gates are retried on the next tick anyway. */
export const DEFAULT_EVENT_RETRIES = 3;

function count(value: number | undefined, fallback: number, min: number, max: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `expected a whole number from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/**
 * Checks a webhook URL: http(s), no credentials (they would show in logs), no fragment.
 * @throws ValidationError naming `field`.
 */
export function checkWebhookUrl(text: string, field: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError(field, `"${redactUrl(text)}" is not a URL; expected http(s)://host/path`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ValidationError(field, `scheme ${url.protocol} is not accepted; use http or https`);
  if (url.username || url.password)
    throw new ValidationError(field, 'credentials in the URL are not accepted; the receiver verifies x-tern-signature instead');
  if (url.hash) throw new ValidationError(field, 'a fragment is not accepted in a webhook URL');
  return url.href;
}

/** Compiles one webhook. @throws ValidationError (TERN_INVALID_REQUEST / TERN_INVALID_DURATION) naming the field. */
export function compileWebhook(input: WebhookInput, field: string): Webhook {
  if (!WEBHOOK_TYPES.includes(input.type)) throw new ValidationError(`${field}.type`, `expected one of ${WEBHOOK_TYPES.join(', ')}`);
  const format = input.format ?? 'json';
  if (format === 'slack' && input.type !== 'event') {
    throw new ValidationError(`${field}.format`, 'format "slack" is for "event" hooks; a gate must answer 2xx itself');
  }
  if (input.events !== undefined && input.type !== 'event')
    throw new ValidationError(`${field}.events`, 'only "event" hooks filter by events');
  const timeoutMs = input.timeout === undefined ? DEFAULT_WEBHOOK_TIMEOUT_MS : parseDuration(input.timeout, `${field}.timeout`);
  if (timeoutMs < 100 || timeoutMs > MAX_WEBHOOK_TIMEOUT_MS) {
    throw new ValidationError(`${field}.timeout`, `expected a timeout from 100ms to 60s, got ${timeoutMs} ms`, 'TERN_INVALID_DURATION');
  }
  return {
    type: input.type,
    url: checkWebhookUrl(input.url, `${field}.url`),
    timeoutMs,
    retries: count(input.retries, input.type === 'event' ? DEFAULT_EVENT_RETRIES : 0, 0, 10, `${field}.retries`),
    maxFailures: count(input.maxFailures, DEFAULT_MAX_FAILURES, 1, 100, `${field}.maxFailures`),
    format,
    events: input.events === undefined ? null : [...input.events],
  };
}

/** Compiles a list (absent means none). @throws ValidationError naming the bad element. */
export function compileWebhooks(input: readonly WebhookInput[] | undefined, field = 'webhooks'): Webhook[] {
  const list = input ?? [];
  if (list.length > MAX_WEBHOOKS) throw new ValidationError(field, `at most ${MAX_WEBHOOKS} webhooks, got ${list.length}`);
  return list.map((w, i) => compileWebhook(w, `${field}[${i}]`));
}

/** The hooks of `type` that apply to a release: its own, then its service's. */
export function hooksOf(type: WebhookType, ...lists: ReadonlyArray<readonly Webhook[] | undefined>): Webhook[] {
  return lists.flatMap((list) => (list ?? []).filter((w) => w.type === type));
}

/** Token-like path segments (long, or letters mixed with digits) hide as `***`: Slack URLs are secrets. */
function secretish(seg: string): boolean {
  return seg.length >= 20 || (seg.length >= 8 && /\d/.test(seg) && /[A-Za-z]/.test(seg));
}

/** A URL safe to show: no credentials, token-like path segments and query values masked. */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return '***';
  }
  const path = url.pathname
    .split('/')
    .map((seg) => (secretish(seg) ? '***' : seg))
    .join('/');
  const query = [...url.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=***`).join('&');
  return `${url.protocol}//${url.host}${path}${query ? `?${query}` : ''}`;
}
