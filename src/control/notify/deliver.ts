/**
 * One signed webhook call: POST of a JSON body with `x-tern-signature`, `x-tern-event` and a
 * unique `x-tern-delivery`, under a hard timeout (connect, headers and body together), never
 * following redirects, and only to a destination the admin's policy allows (destinations.ts),
 * checked against the address the socket actually connects to. The answer is summarised for
 * reasons and logs, never thrown. The summary holds the status code and a fixed phrase, never
 * the receiver's body or the address a name resolved to: release reasons are read by viewers,
 * and an echoed body would turn a webhook into a way to read internal services.
 * The one exception is a gate's deliberate 4xx "no": the top-level `reason` of its JSON answer,
 * sanitised and cut to 80 characters (core/gate-hold.ts), so a person learns why the gate said no.
 * The body goes to the server's log at debug level, truncated.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import { isRefusal, sanitizeGateReason } from '../../core/gate-hold.js';
import { redactUrl } from '../../core/webhooks.js';
import { compileWebhookPolicy, DestinationRefused, guardedLookup, type Resolver, type WebhookPolicy } from './destinations.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signBody } from './signature.js';

export interface Call {
  readonly url: string;
  /** Sent as `x-tern-event`, e.g. `pre-rollout` or `release.rollback`. */
  readonly event: string;
  readonly body: unknown;
  readonly timeoutMs: number;
}

export interface Answer {
  /** True for a 2xx answer within the timeout. */
  readonly ok: boolean;
  readonly status: number | null;
  /** e.g. `HTTP 503 (not a 2xx answer)`, `timed out after 5s`, `could not connect (ECONNREFUSED)`, `destination refused: …`. */
  readonly detail: string;
  /** A deliberate 4xx "no" (core/gate-hold.ts `isRefusal`): its sanitised JSON `reason`, or null (none given, or not a refusal). */
  readonly reason: string | null;
  readonly delivery: string;
}

/** Sends one call; resolves with its answer (failures included). */
export type Poster = (call: Call) => Promise<Answer>;

/** Characters of a receiver's body kept for the debug log. */
const MAX_LOGGED_BODY = 200;

export interface PosterOptions {
  /** Where calls may go; default: no allow-list (loopback, link-local and unspecified refused). */
  readonly policy?: WebhookPolicy;
  /** Receives answers' bodies at debug level and refused destinations at warn. */
  readonly logger?: Logger | undefined;
  /** Name resolution (tests); default dns.lookup. */
  readonly resolve?: Resolver;
}

/** A new delivery id: `dlv_` + 24 hex characters. */
export function newDeliveryId(): string {
  return `dlv_${randomBytes(12).toString('hex')}`;
}

/** The poster that signs with `secret` and calls only where `options.policy` allows. */
export function createPoster(secret: string, options: PosterOptions = {}): Poster {
  const policy = options.policy ?? compileWebhookPolicy([]);
  const dispatcher = new Agent({ connect: { lookup: guardedLookup(policy, options.resolve) } });
  return async (call) => {
    const delivery = newDeliveryId();
    // IP literals are never looked up, and the allow-list may have changed since the hook was configured.
    const host = new URL(call.url).hostname;
    const refused = policy.refusesHost(host);
    if (refused) return refuse(call, delivery, refused, options.logger);
    const raw = JSON.stringify(call.body);
    const signal = AbortSignal.timeout(call.timeoutMs);
    try {
      const res = await request(call.url, {
        method: 'POST',
        body: raw,
        signal,
        dispatcher,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'tern-webhooks/1',
          [SIGNATURE_HEADER]: signBody(secret, raw),
          [EVENT_HEADER]: call.event,
          [DELIVERY_HEADER]: delivery,
        },
      });
      const answered = await readSome(res.body, 4096);
      const text = answered.replace(/\s+/g, ' ').trim().slice(0, MAX_LOGGED_BODY);
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      options.logger?.debug({ hook: redactUrl(call.url), status: res.statusCode, body: text, delivery }, 'webhook answer');
      const contentType = res.headers['content-type'];
      const reason = isRefusal(res.statusCode)
        ? sanitizeGateReason(Array.isArray(contentType) ? contentType[0] : contentType, answered)
        : null;
      const detail = ok ? `HTTP ${res.statusCode}` : `HTTP ${res.statusCode} (not a 2xx answer)`;
      return { ok, status: res.statusCode, detail, reason, delivery };
    } catch (err) {
      if (err instanceof DestinationRefused || (err as { cause?: unknown }).cause instanceof DestinationRefused) {
        return refuse(
          call,
          delivery,
          (err instanceof DestinationRefused ? err : (err as { cause: Error }).cause).message.replace(/^destination refused: /, ''),
          options.logger,
        );
      }
      options.logger?.debug({ err, hook: redactUrl(call.url), delivery }, 'webhook call failed');
      const detail = signal.aborted ? `timed out after ${call.timeoutMs / 1000}s` : describe(err);
      return { ok: false, status: null, detail, reason: null, delivery };
    }
  };
}

function refuse(call: Call, delivery: string, why: string, logger: Logger | undefined): Answer {
  logger?.warn({ hook: redactUrl(call.url), event: call.event, why, delivery }, 'webhook destination refused');
  return { ok: false, status: null, detail: `destination refused: ${why}`, reason: null, delivery };
}

/** The first `max` bytes of an answer as text; the rest is not read (a receiver may send a lot). */
async function readSome(body: AsyncIterable<Buffer> & { destroy(): unknown }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= max) break;
  }
  body.destroy();
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/** A fixed phrase and the error code: messages can carry addresses, which viewers should not learn. */
function describe(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } };
  const code = e.cause?.code ?? e.code;
  return code ? `could not connect or read the answer (${code})` : 'request failed';
}

/** Calls `post` up to `1 + retries` times until one answer is ok, waiting `delayMs(attempt)` between. */
export async function postWithRetries(post: Poster, call: Call, retries: number, delayMs: (attempt: number) => number): Promise<Answer> {
  let answer = await post(call);
  for (let attempt = 1; attempt <= retries && !answer.ok; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, delayMs(attempt)));
    answer = await post(call);
  }
  return answer;
}
