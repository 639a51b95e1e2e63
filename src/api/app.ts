/**
 * Builds Tern's REST API (docs/api.md) as a Fastify instance: validation and error mapping,
 * bearer authentication with roles, audit of every mutating request, Prometheus metrics, the
 * OpenAPI document, and the routes. Returned registered but not listening, so the server can
 * add more routes (each must declare `config.access`, or registration throws).
 */
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { compileWebhookPolicy, type WebhookPolicy } from '../control/notify/destinations.js';
import { type Clock, systemClock } from '../core/types.js';
import type { ServingTls } from '../net/tls.js';
import type { Store } from '../store/store.js';
import { MUTATING_METHODS } from './audit/audit-context.js';
import { registerAuditHooks } from './audit/audit-hook.js';
import { actorOf } from './auth/access.js';
import { checkTrustedProxies } from './auth/client-address.js';
import { registerAuthentication } from './auth/authenticate.js';
import { DEFAULT_FAILURE_LIMIT, type FailureLimit, createFailureLimiter } from './auth/failure-limiter.js';
import { createAuditRecorder } from './audit/audit-recorder.js';
import { type AuditPruner, startAuditPruner } from './audit/audit-retention.js';
import { TernError } from '../core/errors.js';
import { handleFrameworkError, registerErrorMapping } from './error-mapping.js';
import { type ListenerLimits, compileListenerLimits } from './listener-limits.js';
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
import { registerReplayRoutes } from './routes/replay.js';
import { registerServiceRoutes } from './routes/services.js';
import { registerTokenRoutes } from './routes/tokens.js';
// Dashboard: GET /api/v1/whoami and the built web app at / (src/api/routes/web.ts).
import { registerWebRoutes } from './routes/web.js';
import { httpsOption, registerTls } from './tls.js';
import { MAX_JSON_DEPTH, jsonDepthExceeds, schemaErrorFormatter, validatorCompiler } from './validation.js';

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
  /**
   * Peers whose X-Forwarded-For is believed (addresses or CIDRs, e.g. a local TLS proxy's
   * `127.0.0.1`); default none: the client address is the TCP peer's.
   */
  readonly trustedProxies?: readonly string[];
  /** Timeouts and caps of the listener (listener-limits.ts); defaults fit a public API. */
  readonly listenerLimits?: Partial<ListenerLimits>;
  /** Anonymous/denied audit groups opened per minute before they share one overflow row (default 100). */
  readonly maxAuditGroupsPerMinute?: number;
  /** Prune exported audit events older than this (ms); default: keep every event forever (audit-retention.ts). */
  readonly auditRetentionMs?: number;
  /** Serve `/metrics` without a token (default false: a token of any role, e.g. viewer or gateway). */
  readonly metricsPublic?: boolean;
  /** The Prometheus registry `/metrics` serves (the server shares it with the controller); default a new one. */
  readonly registry?: Registry;
  /** Where webhooks may go (`tern server --webhook-allow`); default: anywhere but loopback, link-local and unspecified addresses. */
  readonly webhookPolicy?: WebhookPolicy;
  /** Serve HTTPS with this certificate (reloadable), with HSTS on every answer; default plain HTTP. */
  readonly tls?: ServingTls | undefined;
  /** The server's default Prometheus (`--prometheus-url`): a release with custom checks needs one, its own or this. */
  readonly prometheusUrl?: string | undefined;
}

/**
 * Builds the API app (not listening; `app.listen()` or `app.inject()` next).
 * @throws RangeError for a bad `bodyLimit`, `authFailureLimit`, `trustedProxies`, `listenerLimits` or `auditRetentionMs`.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const clock = options.clock ?? systemClock;
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1) throw new RangeError(`bodyLimit must be a positive integer, got ${bodyLimit}`);
  const trustedProxies = options.trustedProxies ?? [];
  checkTrustedProxies(trustedProxies);
  const limits = compileListenerLimits(options.listenerLimits);
  const retention = options.auditRetentionMs;
  if (retention !== undefined && (!Number.isInteger(retention) || retention < 1))
    throw new RangeError(`auditRetentionMs must be a positive integer, got ${retention}`);
  const limiter = createFailureLimiter(options.authFailureLimit ?? DEFAULT_FAILURE_LIMIT, clock);
  const recorder = createAuditRecorder(options.store, clock, {
    ...(options.maxAuditGroupsPerMinute === undefined ? {} : { maxGroupsPerMinute: options.maxAuditGroupsPerMinute }),
  });
  const logger: FastifyBaseLogger | false =
    options.logger === false ? false : withRedaction(options.logger ?? createApiLogger(process.env.TERN_LOG_LEVEL ?? 'info'));
  const app: TernApp = Fastify({
    ...(logger === false ? { logger: false } : { loggerInstance: logger }),
    bodyLimit,
    // Fastify's own per-request lines are replaced by registerRequestLog's (quieter for gateway polls).
    logController: new LogController({ disableRequestLogging: true }),
    schemaErrorFormatter,
    return503OnClosing: true,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: 1000 },
    // A malformed URL (bad percent-encoding) gets Tern's error shape and an audit event (error-mapping.ts).
    frameworkErrors: (err, request, reply) => {
      void handleFrameworkError(err, request, reply, { store: options.store, recorder });
    },
    // Fastify (proxy-addr) then takes request.ip from the right-most untrusted X-Forwarded-For hop.
    ...(trustedProxies.length > 0 ? { trustProxy: [...trustedProxies] } : {}),
    ...httpsOption(options.tls),
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  // node drops header fields past maxHeadersCount silently; keep one more so too many can be refused.
  app.server.maxHeadersCount = limits.maxHeaderCount + 1;
  app.server.maxConnections = limits.maxConnections;
  app.addHook('onClose', async () => recorder.close());
  if (options.auditRetentionMs !== undefined) {
    const retentionMs = options.auditRetentionMs;
    let pruner: AuditPruner | undefined;
    app.addHook('onReady', (done) => {
      pruner = startAuditPruner({ store: options.store, retentionMs, clock, logger: app.log });
      done();
    });
    app.addHook('onClose', (_instance, done) => {
      pruner?.stop();
      done();
    });
  }
  const catalog = collectRoutes(app);
  const closing = createClosingSignal();
  app.addHook('preClose', (done) => {
    closing.fire();
    done();
  });

  registerTls(app, options.tls); // first, so even an early refusal (401, 429) carries HSTS
  configureBodyParsers(app);
  registerErrorMapping(app, catalog);
  registerAuditHooks(app, options.store, recorder); // before authentication, so refusals are audited
  registerApiHeaders(app, limits.maxHeaderCount); // after the audit hook: a refused mutating request is audited
  registerAuthentication(app, { store: options.store, clock, limiter });
  registerRequestLog(app);
  await registerOpenApi(app, packageVersion());
  registerMetrics(app, options.registry, options.metricsPublic ?? false);

  const deps: ApiDeps = {
    store: options.store,
    clock,
    closing,
    webhookPolicy: options.webhookPolicy ?? compileWebhookPolicy([]),
    prometheusUrl: options.prometheusUrl,
  };
  for (const register of [
    registerHealthRoutes,
    registerServiceRoutes,
    registerReleaseRoutes,
    registerEvidenceRoutes,
    registerReplayRoutes,
    registerFeedbackRoutes,
    registerAuditRoutes,
    registerEventRoutes,
    registerDataplaneRoutes,
    registerTokenRoutes,
    registerWebRoutes, // dashboard: whoami + static app (its `/*` wildcard never shadows a declared route)
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
    if (text.trim() === '') return done(null, undefined);
    // Deeper documents are refused before parsing: validation and error messages walk them recursively.
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
      return done(
        new TernError(
          'TERN_INVALID_JSON',
          `the body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels; at most ${MAX_JSON_DEPTH} are accepted`,
          {
            details: { maxDepth: MAX_JSON_DEPTH },
          },
        ),
        undefined,
      );
    }
    void json(request, text, done);
  });
}

/**
 * Every /api/v1 answer gets `Cache-Control: no-store` (answers carry token secrets and live
 * state no cache may keep; RFC 9111 §5.2.2.5); a request with more header fields than
 * `maxHeaderCount` is refused with 400.
 */
function registerApiHeaders(app: TernApp, maxHeaderCount: number): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/api/')) void reply.header('cache-control', 'no-store');
    const count = request.raw.rawHeaders.length / 2;
    if (count > maxHeaderCount) {
      throw new TernError(
        'TERN_INVALID_REQUEST',
        `too many header fields (over ${maxHeaderCount}); at most ${maxHeaderCount} are accepted`,
        {
          details: { maxHeaderCount },
        },
      );
    }
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
