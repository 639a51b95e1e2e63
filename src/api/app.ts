/**
 * Builds Tern's REST API (DESIGN §3) as a Fastify instance: validation and error mapping,
 * bearer authentication with roles, audit of every mutating request, Prometheus metrics, the
 * OpenAPI document, and the routes. Returned registered but not listening, so the server can
 * add more routes (each must declare `config.access`, or registration throws).
 */
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type Clock, systemClock } from '../core/types.js';
import type { ServingTls } from '../net/tls.js';
import type { Store } from '../store/store.js';
import { MUTATING_METHODS } from './audit/audit-context.js';
import { registerAuditHooks } from './audit/audit-hook.js';
import { actorOf } from './auth/access.js';
import { registerAuthentication } from './auth/authenticate.js';
import { DEFAULT_FAILURE_LIMIT, type FailureLimit, createFailureLimiter } from './auth/failure-limiter.js';
import { registerErrorMapping } from './error-mapping.js';
import { createApiLogger, withRedaction } from './logger.js';
import { registerMetrics } from './metrics.js';
import { registerOpenApi, registerOpenApiRoute } from './openapi.js';
import { collectRoutes } from './route-catalog.js';
import { type ApiDeps, type TernApp, createClosingSignal } from './route-config.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerDataplaneRoutes } from './routes/dataplane.js';
import { registerEventRoutes } from './routes/events.js';
import { registerEvidenceRoutes } from './routes/evidence.js';
import { registerFeedbackRoutes } from './routes/feedback.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerReleaseRoutes } from './routes/releases.js';
import { registerServiceRoutes } from './routes/services.js';
import { registerTokenRoutes } from './routes/tokens.js';
// Dashboard (issue 6): GET /api/v1/whoami and the built web app at / (src/api/routes/web.ts).
import { registerWebRoutes } from './routes/web.js';
import { httpsOption, registerTls } from './tls.js';
import { schemaErrorFormatter, validatorCompiler } from './validation.js';

export const DEFAULT_BODY_LIMIT = 64 * 1024;

export interface AppOptions {
  readonly store: Store;
  /** A pino logger (its output is redacted), `false` for none; default: a new pino logger at TERN_LOG_LEVEL or info. */
  readonly logger?: Logger | false;
  readonly clock?: Clock;
  /** Largest accepted request body in bytes (default 64 KiB); larger ones get 413. */
  readonly bodyLimit?: number;
  /** Failed authentications per source address before 429 (default 10 per minute). */
  readonly authFailureLimit?: FailureLimit;
  /** The Prometheus registry `/metrics` serves (the server shares it with the controller); default a new one. */
  readonly registry?: Registry;
  /** Serve HTTPS with this certificate (reloadable), with HSTS on every answer; default plain HTTP. */
  readonly tls?: ServingTls | undefined;
}

/**
 * Builds the API app (not listening; `app.listen()` or `app.inject()` next).
 * @throws RangeError for a bad `bodyLimit` or `authFailureLimit`.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const clock = options.clock ?? systemClock;
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1) throw new RangeError(`bodyLimit must be a positive integer, got ${bodyLimit}`);
  const limiter = createFailureLimiter(options.authFailureLimit ?? DEFAULT_FAILURE_LIMIT, clock);
  const logger: FastifyBaseLogger | false =
    options.logger === false ? false : withRedaction(options.logger ?? createApiLogger(process.env.TERN_LOG_LEVEL ?? 'info'));
  const app: TernApp = Fastify({
    ...(logger === false ? { logger: false } : { loggerInstance: logger }),
    bodyLimit,
    // Fastify's own per-request lines are replaced by registerRequestLog's (quieter for gateway polls).
    logController: new LogController({ disableRequestLogging: true }),
    schemaErrorFormatter,
    return503OnClosing: true,
    ...httpsOption(options.tls),
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  const catalog = collectRoutes(app);
  const closing = createClosingSignal();
  app.addHook('preClose', (done) => {
    closing.fire();
    done();
  });

  registerTls(app, options.tls); // first, so even an early refusal (401, 429) carries HSTS
  configureBodyParsers(app);
  registerErrorMapping(app, catalog);
  registerAuditHooks(app, options.store); // before authentication, so refusals are audited
  registerAuthentication(app, { store: options.store, clock, limiter });
  registerRequestLog(app);
  await registerOpenApi(app, packageVersion());
  registerMetrics(app, options.registry);

  const deps: ApiDeps = { store: options.store, clock, closing };
  for (const register of [
    registerHealthRoutes,
    registerServiceRoutes,
    registerReleaseRoutes,
    registerEvidenceRoutes,
    registerFeedbackRoutes,
    registerAuditRoutes,
    registerEventRoutes,
    registerDataplaneRoutes,
    registerTokenRoutes,
    registerWebRoutes, // dashboard (issue 6): whoami + static app (its `/*` wildcard never shadows a declared route)
  ]) {
    register(app, deps);
  }
  registerOpenApiRoute(app);
  return app;
}

/**
 * JSON only (other types get 415; Fastify's default text/plain parser would hand handlers a
 * string), and an empty body (e.g. `POST .../pause` with a JSON content type) counts as absent.
 */
function configureBodyParsers(app: TernApp): void {
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') done(null, undefined);
    else void json(request, text, done);
  });
}

/** One line per request: info for changes and refusals, debug for reads (gateways poll every second). */
function registerRequestLog(app: TernApp): void {
  app.addHook('onSend', async (request, reply, payload) => {
    void reply.header('x-request-id', request.id);
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    const level = status >= 500 ? 'error' : status >= 400 || MUTATING_METHODS.has(request.method) ? 'info' : 'debug';
    request.log[level](
      { method: request.method, url: request.url, status, ms: Math.round(reply.elapsedTime), actor: actorOf(request.principal) },
      'request',
    );
  });
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
