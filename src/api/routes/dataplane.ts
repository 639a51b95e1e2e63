/**
 * Data-plane routes for gateways: the routing table as a long-poll watch, and metric pushes.
 * The routing table's weights are BASIS POINTS (0..10000), unlike the rest of the API: it is
 * the gateways' contract, and they compare a user's bucket (0..9999) against it directly.
 */
import { Type } from 'typebox';
import { ValidationError } from '../../core/errors.js';
import { parseDuration } from '../../core/duration.js';
import type { Store } from '../../store/store.js';
import { actorOf } from '../auth/access.js';
import { checkPush } from '../dataplane-push.js';
import { routingJson } from '../present.js';
import type { ApiDeps, ClosingSignal, TernApp } from '../route-config.js';
import { ERROR_RESPONSES } from '../schemas/common.js';
import { registerDataplaneStatusRoutes } from './dataplane-status.js';
import { MetricsPush, MetricsPushAccepted, RoutingQuery, RoutingResponse } from '../schemas/dataplane.js';

export const DEFAULT_WAIT_MS = 30_000;
/**
 * Metric pushes may be far larger than other bodies: a gateway sends up to 1000 queued windows
 * in one batch after an outage (~200 B to ~1 KiB each). Only gateway and admin tokens get this
 * far; the body is read after authentication.
 */
export const METRICS_BODY_LIMIT = 4 * 1024 * 1024;
export const MAX_WAIT_MS = 60_000;
const TAGS = ['data plane'];

/** Registers the data-plane routes. */
export function registerDataplaneRoutes(app: TernApp, deps: ApiDeps): void {
  const { store, clock, closing } = deps;
  registerDataplaneStatusRoutes(app, deps);
  app.get(
    '/api/v1/dataplane/routing',
    {
      config: { access: 'dataplane' },
      schema: {
        tags: TAGS,
        summary: 'The routing table (weights in basis points); with ?after=N waits for a newer one, 304 when none came within ?wait',
        querystring: RoutingQuery,
        response: { 200: RoutingResponse, 304: Type.Null(), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const waitMs = request.query.wait === undefined ? DEFAULT_WAIT_MS : parseWait(request.query.wait);
      const after = request.query.after;
      if (after === undefined) return routingJson(await store.routingTable());
      // Subscribe before reading, so a change between the read and the wait is not missed.
      const watch = watchRouting(store, after, closing);
      try {
        const table = await store.routingTable();
        if (table.version > after) return routingJson(table);
        reply.raw.once('close', watch.cancel); // the gateway hung up: stop waiting for it
        const changed = await watch.until(waitMs);
        return changed ? routingJson(await store.routingTable()) : reply.code(304).send(NO_BODY);
      } finally {
        watch.cancel();
        reply.raw.off('close', watch.cancel);
      }
    },
  );

  app.post(
    '/api/v1/dataplane/metrics',
    {
      bodyLimit: METRICS_BODY_LIMIT,
      config: { access: 'dataplane', audit: { action: 'metrics.push', target: 'gateway/{body.gateway}', failuresOnly: true } },
      schema: {
        tags: TAGS,
        summary:
          "Push a gateway's per-second metric windows: only of releases active in the routing table, their canary and stable versions, counts that add up, not ahead of the server's clock (422 otherwise, nothing stored); windows of ended releases or older than 10 min are ignored",
        body: MetricsPush,
        response: { 202: MetricsPushAccepted, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { body } = request;
      const context = { now: clock(), table: await store.routingTable(), release: (id: string) => store.getRelease(id) };
      const { windows, events, ignored } = await checkPush(context, body.windows, body.events ?? []);
      if (ignored > 0) request.log.info({ gateway: body.gateway, ignored }, 'metrics of ended releases or older than 10 min ignored');
      if (windows.length > 0) await store.appendMetricWindows(body.gateway, windows);
      // Canary outages a gateway routed around go into the audit log, so the release's timeline shows them.
      for (const e of events) {
        await store.appendAudit({
          actor: actorOf(request.principal),
          source: request.ip,
          action: 'gateway.canary_unavailable',
          target: `release/${e.releaseId}`,
          service: e.service,
          outcome: 'success',
          reason: `${e.count} canary request(s) served by stable: no canary endpoint was available (gateway ${request.body.gateway})`,
          detail: { gateway: request.body.gateway, windowStart: e.windowStart, count: e.count },
        });
      }
      return reply.code(202).send({ accepted: windows.length, ignored });
    },
  );
}

/** Parses `?wait=`. @throws ValidationError when not a duration or above 60s. */
function parseWait(text: string): number {
  const ms = parseDuration(/^\d+(\.\d+)?$/.test(text) ? Number(text) : text, 'query.wait');
  if (ms > MAX_WAIT_MS)
    throw new ValidationError('query.wait', `"${text}" is too long; at most ${MAX_WAIT_MS / 1000}s`, 'TERN_INVALID_DURATION');
  return ms;
}

interface RoutingWatch {
  /** Resolves true when the routing version passes `after`, false on timeout, cancel or app close. */
  readonly until: (ms: number) => Promise<boolean>;
  readonly cancel: () => void;
}

function watchRouting(store: Store, after: number, closing: ClosingSignal): RoutingWatch {
  let settle: (changed: boolean) => void = () => undefined;
  let seen = false;
  let timer: NodeJS.Timeout | undefined;
  const unsubscribe = store.subscribe((change) => {
    if (change.routingVersion > after) {
      seen = true;
      settle(true);
    }
  });
  const unClose = closing.onClose(() => settle(false));
  const cancel = () => {
    unsubscribe();
    unClose();
    clearTimeout(timer);
    settle(false);
  };
  return {
    until: (ms) =>
      new Promise<boolean>((resolve) => {
        settle = (changed) => {
          settle = () => undefined;
          resolve(changed);
        };
        if (seen || closing.closed) settle(seen);
        else timer = setTimeout(() => settle(false), ms);
      }),
    cancel,
  };
}

/** A 304 carries no body (RFC 9110 §15.4.5): send none, rather than a serialised `null`. */
const NO_BODY = undefined as unknown as null;
