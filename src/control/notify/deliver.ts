/**
 * One signed webhook call: POST of a JSON body with `x-tern-signature`, `x-tern-event` and a
 * unique `x-tern-delivery`, under a hard timeout (connect, headers and body together), never
 * following redirects. The answer is summarised for reasons and logs, never thrown.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
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
  /** e.g. `HTTP 503: maintenance window`, `timed out after 5s`, `connect ECONNREFUSED 127.0.0.1:9`. */
  readonly detail: string;
  readonly delivery: string;
}

/** Sends one call; resolves with its answer (failures included). */
export type Poster = (call: Call) => Promise<Answer>;

const MAX_ANSWER_CHARS = 200;

/** A new delivery id: `dlv_` + 24 hex characters. */
export function newDeliveryId(): string {
  return `dlv_${randomBytes(12).toString('hex')}`;
}

/** The poster that signs with `secret`. */
export function createPoster(secret: string): Poster {
  return async (call) => {
    const delivery = newDeliveryId();
    const raw = JSON.stringify(call.body);
    const signal = AbortSignal.timeout(call.timeoutMs);
    try {
      const res = await request(call.url, {
        method: 'POST',
        body: raw,
        signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'tern-webhooks/1',
          [SIGNATURE_HEADER]: signBody(secret, raw),
          [EVENT_HEADER]: call.event,
          [DELIVERY_HEADER]: delivery,
        },
      });
      const text = (await readSome(res.body, 4096)).replace(/\s+/g, ' ').trim().slice(0, MAX_ANSWER_CHARS);
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      return { ok, status: res.statusCode, detail: `HTTP ${res.statusCode}${text ? `: ${text}` : ''}`, delivery };
    } catch (err) {
      const detail = signal.aborted ? `timed out after ${call.timeoutMs / 1000}s` : describe(err);
      return { ok: false, status: null, detail, delivery };
    }
  };
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

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return [e.code ?? e.cause?.code, e.message ?? e.cause?.message].filter(Boolean).join(' ') || 'request failed';
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
