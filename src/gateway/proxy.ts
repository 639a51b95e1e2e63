/**
 * The HTTP request path of the gateway: route → split → place → forward → relay.
 *
 * Bodies stream both ways with backpressure (the client request is the upstream body, the
 * upstream body is piped into the client response), so memory stays flat whatever the size.
 * A client that leaves aborts the upstream request. The routing table is read once per
 * request, so a swap mid-request does not move it.
 *
 * Retry: an idempotent request (RFC 9110 §9.2.2) whose body the upstream never received is
 * retried once on another endpoint of the same version when the connect failed, and — for
 * bodiless requests — also when the connection dropped before any response byte (a keep-alive
 * race or an endpoint dying mid-request): re-sending an idempotent request is what §9.2.2
 * allows. Timeouts are not retried: that would double the wait of a slow upstream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { place, pickEndpoint, type Placement } from './balancer.js';
import type { Endpoint } from './endpoints.js';
import { classify, isConnectFailure, replyText, statusFor, type FailureKind } from './failures.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';
import { recordFailure, recordSuccess, type OutlierSettings } from './health.js';
import type { GatewayMetrics } from './metrics.js';
import type { CompiledTable } from './route-table.js';
import { decide, stickyCookieHeader } from './split.js';

export interface ProxyDeps {
  /** The current compiled table (read once per request), or null before the first one. */
  readonly currentTable: () => CompiledTable | null;
  readonly metrics: GatewayMetrics;
  readonly outlier: OutlierSettings;
  readonly exposeVersionHeader: boolean;
  readonly logger: Logger;
  readonly now: () => number;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** One request in flight. */
interface Flight {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  placement: Placement;
  readonly path: string;
  readonly hasBody: boolean;
  readonly started: number;
  readonly controller: AbortController;
  readonly setCookie: string | null;
  done: boolean;
}

/** The request target in origin-form, and the authority when it came in absolute-form (RFC 9112 §3.2.2). */
export function splitTarget(url: string, host: string | undefined): { path: string; host: string | undefined } {
  if (url.startsWith('/')) return { path: url, host };
  try {
    const parsed = new URL(url);
    return { path: parsed.pathname + parsed.search, host: parsed.host };
  } catch {
    return { path: url, host };
  }
}

export function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function finish(deps: ProxyDeps, f: Flight, status: number): void {
  if (f.done) return;
  f.done = true;
  const p = f.placement;
  deps.metrics.observe(p.route.service, p.version.label, p.releaseId, status, performance.now() - f.started);
}

function finishAborted(deps: ProxyDeps, f: Flight): void {
  if (f.done) return;
  f.done = true;
  deps.metrics.clientAborted(f.placement.route.service, f.placement.version.label);
}

function relay(deps: ProxyDeps, f: Flight, endpoint: Endpoint, upstream: Dispatcher.ResponseData): void {
  const headers = downstreamResponseHeaders(upstream.headers);
  if (f.setCookie !== null) {
    const existing = headers['set-cookie'];
    headers['set-cookie'] =
      existing === undefined ? f.setCookie : [...(Array.isArray(existing) ? existing : [String(existing)]), f.setCookie];
  }
  if (deps.exposeVersionHeader) headers['x-tern-version'] = f.placement.version.label;
  const status = upstream.statusCode;
  f.res.writeHead(status, headers);
  // pipe(), not stream.pipeline(): pipeline allocates an AbortController (and a DOMException
  // on every completion) per call, a measurable cost on the hot path. Backpressure is the same.
  const body = upstream.body;
  body.pipe(f.res);
  f.res.once('finish', () => finish(deps, f, status));
  body.once('error', () => {
    f.res.destroy();
    if (f.controller.signal.aborted) return finishAborted(deps, f);
    // The upstream broke off mid-body: the client saw a truncated answer.
    deps.metrics.upstreamError(f.placement.route.service, f.placement.version.label, 'reset');
    recordFailure(endpoint, deps.now(), deps.outlier);
    finish(deps, f, 502);
  });
}

function retryable(f: Flight, kind: FailureKind): boolean {
  if (!IDEMPOTENT.has(f.req.method ?? '')) return false;
  if (isConnectFailure(kind)) return !f.hasBody || (!f.req.readableDidRead && !f.req.destroyed);
  return kind === 'reset' && !f.hasBody;
}

/**
 * Another endpoint of the same version; for a canary with none left, a stable endpoint — the
 * request never reached the canary, and a broken canary must cost its users nothing.
 */
function retryTarget(deps: ProxyDeps, f: Flight, failed: Endpoint): Endpoint | null {
  const now = deps.now();
  const p = f.placement;
  const same = pickEndpoint(p.version, now, failed);
  if (same !== null || p.served !== 'canary') return same;
  const stable = pickEndpoint(p.route.stable, now, failed);
  if (stable === null) return null;
  f.placement = { ...p, served: 'stable', version: p.route.stable, endpoint: stable, fellBack: true };
  deps.metrics.canaryFallback(p.route.service, p.releaseId ?? '');
  return stable;
}

function metricKind(kind: FailureKind): 'connect' | 'reset' | 'timeout' | 'other' {
  if (kind === 'connect') return 'connect';
  if (kind === 'connect-timeout' || kind === 'timeout') return 'timeout';
  return kind === 'reset' ? 'reset' : 'other';
}

function onFailure(deps: ProxyDeps, f: Flight, endpoint: Endpoint, err: unknown, isRetry: boolean): void {
  const kind = classify(err);
  if (kind === 'aborted' || f.controller.signal.aborted) return finishAborted(deps, f);
  const { route, version } = f.placement;
  if (kind !== 'client' && kind !== 'other') {
    if (recordFailure(endpoint, deps.now(), deps.outlier)) {
      deps.logger.warn({ endpoint: endpoint.url, service: route.service, until: endpoint.health.ejectedUntil }, 'endpoint ejected');
    }
  }
  if (kind !== 'client') deps.metrics.upstreamError(route.service, version.label, metricKind(kind));
  if (!isRetry && retryable(f, kind)) {
    const next = retryTarget(deps, f, endpoint);
    if (next !== null) return launch(deps, f, next, true);
  }
  deps.logger.debug({ err, endpoint: endpoint.url, service: route.service }, 'upstream request failed');
  const status = statusFor(kind);
  replyText(
    f.res,
    status,
    status === 504 ? 'upstream timed out' : status === 400 ? 'request body did not match its framing' : 'upstream unavailable',
  );
  finish(deps, f, status);
}

async function attempt(deps: ProxyDeps, f: Flight, endpoint: Endpoint, isRetry: boolean): Promise<void> {
  let upstream: Dispatcher.ResponseData;
  try {
    upstream = await endpoint.pool.request({
      path: endpoint.basePath + f.path,
      method: f.req.method as Dispatcher.HttpMethod,
      headers: upstreamRequestHeaders(f.req, { authority: endpoint.authority, proto: 'http' }),
      body: f.hasBody ? f.req : null,
      signal: f.controller.signal,
    });
  } catch (err) {
    onFailure(deps, f, endpoint, err, isRetry);
    return;
  }
  recordSuccess(endpoint);
  if (f.controller.signal.aborted) {
    upstream.body.destroy();
    return finishAborted(deps, f);
  }
  relay(deps, f, endpoint, upstream);
}

/**
 * Runs one attempt; anything unexpected (e.g. an upstream header node refuses to re-send)
 * becomes a 502 for this request rather than an unhandled rejection that ends the process.
 */
function launch(deps: ProxyDeps, f: Flight, endpoint: Endpoint, isRetry: boolean): void {
  attempt(deps, f, endpoint, isRetry).catch((err: unknown) => {
    deps.logger.error({ err, endpoint: endpoint.url, service: f.placement.route.service }, 'proxying failed');
    replyText(f.res, 502, 'upstream answer could not be relayed');
    finish(deps, f, 502);
  });
}

/** Builds the node:http 'request' listener. */
export function createRequestHandler(deps: ProxyDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = performance.now();
    const target = splitTarget(req.url ?? '/', req.headers.host);
    const route = deps.currentTable()?.match(target.host, target.path) ?? null;
    if (route === null) {
      deps.metrics.unmatched();
      replyText(res, 404, 'no service matches this request');
      return;
    }
    const decision = decide(route, req, true);
    const placement = place(route, decision.target, deps.now());
    if (placement.fellBack) deps.metrics.canaryFallback(route.service, placement.releaseId ?? '');
    const setCookie =
      decision.issueCookie === null || route.stickyCookie === null ? null : stickyCookieHeader(route.stickyCookie, decision.issueCookie);
    if (placement.endpoint === null) {
      replyText(res, 503, 'no healthy endpoint for this service', setCookie === null ? undefined : { 'set-cookie': setCookie });
      deps.metrics.observe(route.service, placement.version.label, placement.releaseId, 503, performance.now() - started);
      return;
    }
    const f: Flight = {
      req,
      res,
      placement,
      path: target.path,
      hasBody: hasRequestBody(req),
      started,
      controller: new AbortController(),
      setCookie,
      done: false,
    };
    // A client that leaves before the response ends takes the upstream request with it.
    res.once('close', () => {
      if (res.writableFinished) return;
      f.controller.abort();
      finishAborted(deps, f);
    });
    req.on('error', () => f.controller.abort());
    launch(deps, f, placement.endpoint, false);
  };
}
