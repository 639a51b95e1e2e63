/**
 * The one place where errors become HTTP answers `{"error":{"code","message","details"?}}`:
 * TernErrors keep their code and status; Fastify's own client errors (bad JSON, body too
 * large, wrong content type, schema failures) get Tern codes; anything else is a 500 with a
 * generic message — logged in full, never a stack trace to the client. Also answers unknown
 * routes (404) and known routes with the wrong method (405).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, TernError, isTernError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import { MUTATING_METHODS } from './audit/audit-context.js';
import { failureEvent, newAuditContext } from './audit/audit-hook.js';
import type { AuditRecorder } from './audit/audit-recorder.js';
import { bearerSecret, hashSecret } from './auth/tokens.js';
import type { TernApp } from './route-config.js';
import type { RouteCatalog } from './route-catalog.js';

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details?: Readonly<Record<string, unknown>> };
}

/** Fastify error codes that are the client's mistake, with the Tern code they are answered with. */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'TERN_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'TERN_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'TERN_INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'TERN_INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'TERN_INVALID_REQUEST',
};

/** Installs the error and not-found handlers. */
export function registerErrorMapping(app: TernApp, catalog: RouteCatalog): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    let mapped = toTernError(err, request.routeOptions.bodyLimit);
    if (mapped.code === 'TERN_INTERNAL')
      mapped = new TernError('TERN_INTERNAL', `${mapped.message} (request ${request.id})`, { cause: err });
    if (mapped.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.debug({ err: { code: mapped.code, message: mapped.message } }, 'request refused');
    return sendError(request, reply, mapped);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = catalog.methodsFor(path);
    if (allowed.length > 0) {
      void reply.header('allow', allowed.join(', '));
      return sendError(
        request,
        reply,
        new TernError('TERN_METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`),
      );
    }
    return sendError(request, reply, new TernError('TERN_NOT_FOUND', `no route ${request.method} ${path}; see /api/v1/openapi.json`));
  });
}

/**
 * Fastify's `frameworkErrors`: a request its router cannot even match (a path with a bad
 * percent-encoding such as `%ZZ`, RFC 3986 §2.1, or an over-long parameter) never reaches the
 * hooks, so this answers it in Tern's shape (400, `no-store`) and audits a mutating one as the
 * hook would (`route.unknown`, actor from a valid bearer token, else anonymous).
 */
export async function handleFrameworkError(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  deps: { readonly store: Store; readonly recorder: AuditRecorder },
): Promise<void> {
  const path = request.raw.url?.split('?')[0] ?? '';
  const message =
    err.code === 'FST_ERR_BAD_URL'
      ? `the path ${JSON.stringify(path.slice(0, 200))} is not a valid URL: every % must start a percent-encoded byte (%XX, two hex digits)`
      : `the path ${JSON.stringify(path.slice(0, 200))} is not accepted: ${err.message}`;
  const mapped = new TernError('TERN_INVALID_REQUEST', message, { details: { status: 400 }, cause: err });
  void reply.header('cache-control', 'no-store').header('x-request-id', request.id);
  if (MUTATING_METHODS.has(request.method)) {
    request.auditContext = newAuditContext(request);
    request.auditContext.error = { code: mapped.code, message: mapped.message };
    try {
      request.principal = await principalOf(deps.store, request);
      await deps.recorder.record(await failureEvent(deps.store, request, request.auditContext, mapped.status));
    } catch (auditErr) {
      request.log.error({ err: auditErr }, 'could not write the audit event');
    }
  }
  request.auditContext = null; // written above; nothing else may write it again
  await sendError(request, reply, mapped);
}

async function principalOf(store: Store, request: FastifyRequest): Promise<FastifyRequest['principal']> {
  const secret = bearerSecret(request.headers.authorization);
  const record = secret === null ? undefined : await store.findTokenByHash(hashSecret(secret));
  return record && record.revokedAt === null ? { tokenId: record.id, name: record.name, role: record.role } : null;
}

/** Sends a TernError as the JSON error envelope and records it for the audit hook. */
export function sendError(request: FastifyRequest, reply: FastifyReply, err: TernError): FastifyReply {
  if (request.auditContext) request.auditContext.error = { code: err.code, message: err.message };
  if (err.code === 'TERN_UNAUTHENTICATED') void reply.header('www-authenticate', 'Bearer realm="tern"');
  const retry = err.details?.retryAfterSeconds;
  if (typeof retry === 'number') void reply.header('retry-after', String(retry));
  const body: ErrorBody = { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } };
  return reply.code(err.status).type('application/json; charset=utf-8').send(body);
}

/** Maps any thrown value to the TernError the client sees. */
export function toTernError(err: unknown, bodyLimit: number): TernError {
  if (isTernError(err)) return err;
  const e = err as Partial<FastifyError> & { validation?: unknown; validationContext?: string };
  if (Array.isArray(e.validation)) {
    // Only the readable parts go out; schema paths and Ajv params are internal.
    const problems = (e.validation as { field?: string; message?: string }[]).map((p) => ({
      field: p.field ?? e.validationContext ?? 'request',
      message: p.message ?? 'invalid',
    }));
    return new TernError('TERN_INVALID_REQUEST', e.message ?? 'invalid request', {
      details: { field: problems[0]?.field, errors: problems },
    });
  }
  const code = e.code === undefined ? undefined : FASTIFY_CODES[e.code];
  if (code === 'TERN_BODY_TOO_LARGE')
    return new TernError(code, `the request body is larger than the ${bodyLimit} byte limit`, { details: { limit: bodyLimit } });
  if (code === 'TERN_UNSUPPORTED_MEDIA_TYPE') return new TernError(code, 'the body must be JSON; send content-type: application/json');
  if (code === 'TERN_INVALID_JSON') return new TernError(code, `the body is not valid JSON: ${e.message ?? ''}`.trim());
  if (code) return new TernError(code, e.message ?? 'invalid request');
  // Any other 4xx Fastify raises (malformed URL, unsupported encoding...) is still the client's mistake.
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new TernError('TERN_INVALID_REQUEST', e.message ?? 'invalid request', { details: { status: e.statusCode } });
  }
  return new TernError('TERN_INTERNAL', 'internal error; the server log has the details', { cause: err });
}
