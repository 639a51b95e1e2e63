/**
 * Audits every mutating request. Successes are written by the store together with their
 * change (handlers pass `auditInput(...)`); this hook writes the rest — denied, rejected and
 * failed requests — through the AuditRecorder in `onSend`, i.e. before the answer leaves, so a
 * client that reads the audit log right after its refused call finds the event (anonymous and
 * denied ones are aggregated per client and minute: audit-recorder.ts).
 */
import type { FastifyRequest } from 'fastify';
import type { AuditInput } from '../../core/types.js';
import type { Store } from '../../store/store.js';
import { actorOf } from '../auth/access.js';
import type { TernApp } from '../route-config.js';
import { type AuditContext, MUTATING_METHODS, failureOutcome } from './audit-context.js';
import type { AuditRecorder } from './audit-recorder.js';

const MAX_TARGET_PART = 128;

/** Installs the audit hooks; register before the authentication hook so refusals are audited too. */
export function registerAuditHooks(app: TernApp, store: Store, recorder: AuditRecorder): void {
  app.decorateRequest('auditContext', null);
  app.addHook('onRequest', (request, _reply, done) => {
    if (MUTATING_METHODS.has(request.method)) request.auditContext = newAuditContext(request);
    done();
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const ctx = request.auditContext;
    if (!ctx) return payload;
    try {
      if (reply.statusCode >= 400) await recorder.record(await failureEvent(store, request, ctx, reply.statusCode));
      else if (!ctx.recorded && !ctx.failuresOnly) await recorder.record({ ...baseEvent(request, ctx), outcome: 'success' });
    } catch (err) {
      // The answer is already decided; losing its audit record is logged loudly, not turned into a 500.
      request.log.error({ err, action: ctx.action }, 'could not write the audit event');
    }
    return payload;
  });
}

/** The audit context of a mutating request (`route.unknown` with the path as target when no route matched). */
export function newAuditContext(request: FastifyRequest): AuditContext {
  const audit = request.routeOptions.config?.audit;
  return {
    action: audit?.action ?? 'route.unknown',
    target: audit ? fillTarget(audit.target, request.params) : `path/${request.url.split('?')[0]!.slice(0, MAX_TARGET_PART)}`,
    // Every route with a `:name` parameter is scoped to that service.
    service: short((request.params as Record<string, unknown> | undefined)?.name),
    reason: null,
    failuresOnly: audit?.failuresOnly ?? false,
    recorded: false,
    error: null,
  };
}

/** The audit event of a refused or failed request (written by the hook, or by the bad-URL handler). */
export async function failureEvent(store: Store, request: FastifyRequest, ctx: AuditContext, status: number): Promise<AuditInput> {
  const base = baseEvent(request, ctx);
  const bodyReason = bodyField(request.body, 'reason');
  return {
    ...base,
    service: base.service ?? (await serviceOfTarget(store, base.target)),
    outcome: failureOutcome(status),
    reason: ctx.error?.message ?? `answered HTTP ${status}`,
    detail: { status, code: ctx.error?.code ?? null, ...(bodyReason === null ? {} : { requestReason: bodyReason }) },
  };
}

function baseEvent(request: FastifyRequest, ctx: AuditContext): Omit<AuditInput, 'outcome'> {
  return {
    actor: actorOf(request.principal),
    source: request.ip,
    action: ctx.action,
    target: fillBody(ctx.target, request.body),
    service: ctx.service,
    reason: ctx.reason,
    detail: null,
  };
}

/** Finds the service a target concerns, so refused actions show up under `?service=`. */
async function serviceOfTarget(store: Store, target: string): Promise<string | null> {
  const [, kind, id] = /^(service|release)\/(.+)$/.exec(target) ?? [];
  if (!id || id === '*') return null;
  if (kind === 'service') return id;
  try {
    return (await store.getRelease(id))?.service ?? null;
  } catch {
    return null;
  }
}

/** Replaces `:param` in a target template with the path parameter (or `*`). */
export function fillTarget(template: string, params: unknown): string {
  const p = (params ?? {}) as Record<string, unknown>;
  return template.replace(/:([A-Za-z]+)/g, (_, key: string) => short(p[key]) ?? '*');
}

function fillBody(target: string, body: unknown): string {
  return target.replace(/\{body\.([A-Za-z]+)\}/g, (_, key: string) => bodyField(body, key) ?? '*');
}

function bodyField(body: unknown, key: string): string | null {
  if (body === null || typeof body !== 'object') return null;
  return short((body as Record<string, unknown>)[key]);
}

function short(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, MAX_TARGET_PART) : null;
}
