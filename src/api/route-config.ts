/**
 * What every route declares in its Fastify `config`: the permission it needs (checked in one
 * hook, src/api/auth/authenticate.ts) and, for mutating routes, how its audit event is named.
 * Also the typed Fastify instance the route modules register on.
 */
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Clock } from '../core/types.js';
import type { Store } from '../store/store.js';
import type { AuditContext } from './audit/audit-context.js';
import type { Principal } from './auth/access.js';
import type { WebhookPolicy } from '../control/notify/destinations.js';

/**
 * The permission a route needs. `public`: no token; `read`: viewer and up; `release`: deployer
 * and admin; `admin`: admin only; `dataplane`: gateway and admin; `feedback`: feedback, deployer and admin;
 * `metrics`: viewer, deployer, admin and gateway (the API's Prometheus `/metrics`: viewers and gateways scrape it).
 */
export type Access = 'public' | 'read' | 'release' | 'admin' | 'dataplane' | 'feedback' | 'metrics';
export const ACCESS_LEVELS: readonly Access[] = ['public', 'read', 'release', 'admin', 'dataplane', 'feedback', 'metrics'];

/** How a mutating route's audit event is named. */
export interface RouteAudit {
  /** Dotted verb, e.g. `release.rollback`. */
  readonly action: string;
  /**
   * Target template: `:param` is replaced by the path parameter, `{body.field}` by a short
   * string field of the body; anything unknown becomes `*` (e.g. `service/{body.name}`).
   */
  readonly target: string;
  /** Audit only failures (telemetry pushes, once a second per gateway, would drown the log). */
  readonly failuresOnly?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    audit?: RouteAudit;
    /** Long-lived streaming answer (SSE): excluded from inject-based tests and timing metrics. */
    stream?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
    auditContext: AuditContext | null;
  }
}

/** The Fastify instance with TypeBox inference, as route modules see it. */
export type TernApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** What route handlers need besides the request. */
export interface ApiDeps {
  readonly store: Store;
  readonly clock: Clock;
  /** Called to register cleanup for long-lived requests (SSE, long-polls) when the app closes. */
  readonly closing: ClosingSignal;
  /** Where webhooks may be configured to go (the admin's allow-list). */
  readonly webhookPolicy: WebhookPolicy;
  /** The server's default Prometheus for custom checks (`--prometheus-url`), if any. */
  readonly prometheusUrl?: string | undefined;
}

/** Lets long-lived requests end promptly when the app closes. */
export interface ClosingSignal {
  readonly closed: boolean;
  /** Registers `fn` to run on close; returns a function that unregisters it. */
  onClose(fn: () => void): () => void;
}

/** Creates the closing signal the app fires from its `preClose` hook. */
export function createClosingSignal(): ClosingSignal & { fire(): void } {
  const listeners = new Set<() => void>();
  let closed = false;
  return {
    get closed() {
      return closed;
    },
    onClose(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    fire() {
      closed = true;
      for (const fn of [...listeners]) fn();
      listeners.clear();
    },
  };
}
