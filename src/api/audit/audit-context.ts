/**
 * The per-request audit record of a mutating request. Handlers fill in what they learn (the
 * real target, the service, the body's reason) and build the store's AuditInput through
 * `auditInput`, so a success is written in the same transaction as its change; the audit
 * hook writes failures and refusals (src/api/audit/audit-hook.ts).
 */
import type { FastifyRequest } from 'fastify';
import type { AuditInput, AuditOutcome } from '../../core/types.js';
import { actorOf } from '../auth/access.js';

export interface AuditContext {
  action: string;
  target: string;
  service: string | null;
  reason: string | null;
  /** Audit only failures (metric pushes). */
  failuresOnly: boolean;
  /** True once a handler built the AuditInput for its store mutation (success is audited there). */
  recorded: boolean;
  /** The error the request was answered with, set by the error mapping. */
  error: { readonly code: string; readonly message: string } | null;
}

export const MUTATING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Overrides a handler may give when it knows more than the route template. */
export interface AuditFacts {
  readonly target?: string;
  readonly service?: string | null;
  readonly reason?: string | null | undefined;
  readonly detail?: Readonly<Record<string, unknown>> | null;
}

/**
 * Builds the AuditInput for a successful state change and remembers the facts for the failure
 * path. @throws Error when the route has no audit context (a GET route calling it is a bug).
 */
export function auditInput(request: FastifyRequest, facts: AuditFacts = {}): AuditInput {
  const ctx = request.auditContext;
  if (!ctx) throw new Error(`${request.method} ${request.url} has no audit context; only mutating routes write audit events`);
  if (facts.target !== undefined) ctx.target = facts.target;
  if (facts.service !== undefined) ctx.service = facts.service;
  if (facts.reason !== undefined) ctx.reason = facts.reason;
  ctx.recorded = true;
  return {
    actor: actorOf(request.principal),
    source: request.ip,
    action: ctx.action,
    target: ctx.target,
    service: ctx.service,
    outcome: 'success',
    reason: ctx.reason,
    detail: facts.detail ?? null,
  };
}

/** Outcome of a refused or failed request, by HTTP status. */
export function failureOutcome(status: number): AuditOutcome {
  if (status === 401 || status === 403 || status === 429) return 'denied';
  return status >= 500 ? 'error' : 'rejected';
}
