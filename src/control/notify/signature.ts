/**
 * Signatures of Tern's outgoing webhook calls (the Stripe scheme): header
 * `x-tern-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * Signing the timestamp with the body lets receivers refuse replays: a captured call stops
 * verifying once its timestamp is older than the tolerance. docs/security.md shows a receiver.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-tern-signature';
export const EVENT_HEADER = 'x-tern-event';
export const DELIVERY_HEADER = 'x-tern-delivery';
export const DEFAULT_TOLERANCE_SEC = 300;

function hmac(secret: string, t: number, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest('hex');
}

/** The `x-tern-signature` value for `rawBody` sent at `nowMs` (default now). */
export function signBody(secret: string, rawBody: string | Buffer, nowMs = Date.now()): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${hmac(secret, t, rawBody)}`;
}

export interface VerifyOptions {
  /** Largest accepted age (and clock skew into the future) of the timestamp, in seconds. Default 300. */
  readonly toleranceSec?: number;
  /** Current time in epoch ms (tests). Default `Date.now()`. */
  readonly now?: number;
}

function parseHeader(header: string): { t: number; v1: string[] } | null {
  let t = Number.NaN;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) v1.push(value);
  }
  return Number.isFinite(t) && v1.length > 0 ? { t, v1 } : null;
}

/**
 * True when `header` is a valid signature of `rawBody` (the bytes as received, before any JSON
 * parsing) under `secret`, made within `toleranceSec` of `now`. Several `v1=` values are
 * accepted (one may be made with a secret being rotated in). Compares in constant time.
 */
export function verifySignature(
  secret: string,
  header: string | undefined,
  rawBody: string | Buffer,
  options: VerifyOptions = {},
): boolean {
  if (!header) return false;
  const parsed = parseHeader(header);
  if (!parsed) return false;
  const nowSec = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(nowSec - parsed.t) > (options.toleranceSec ?? DEFAULT_TOLERANCE_SEC)) return false;
  const expected = Buffer.from(hmac(secret, parsed.t, rawBody), 'hex');
  return parsed.v1.some((v) => timingSafeEqual(Buffer.from(v, 'hex'), expected));
}
