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
 *
 * Whose error: an upstream 5xx and an upstream that refused, reset or timed out count as the
 * version's errors, with the (hashed) user who got them; the gateway's own failures (out of
 * descriptors or ports, a request it cannot relay) count as gateway errors (failures.ts).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { place, pickEndpoint, type Placement } from './balancer.js';
import type { Endpoint } from './endpoints.js';
import { userHash } from './error-users.js';
import { classify, isConnectFailure, isGatewayFailure, replyText, statusFor, type FailureKind } from './failures.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';
import { recordFailure, recordSuccess, type OutlierSettings } from './health.js';
import type { GatewayMetrics } from './metrics.js';
import type { CompiledTable } from './route-table.js';
import { decide, stickyCookieHeader, userKeyOf } from './split.js';

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

/** One shared reason object: allocating an Error (or DOMException) per request shows in profiles. */
const CLIENT_GONE: Error = Object.assign(new Error('the client went away'), { name: 'AbortError' });

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

function finish(f: Flight, status: number): void {
  if (f.done) return;
  f.done = true;
  const p = f.placement;
  const user = status >= 500 ? errorUser(p, f.req, f.issuedKey) : null;
  f.deps.metrics.observe(p.route.service, p.version.label, p.releaseId, status, performance.now() - f.started, user);
}

/** The gateway failed this request itself: a gateway error, not one of the version's. */
function finishAsGateway(f: Flight, status: number): void {
  if (f.done) return;
  f.done = true;
  const p = f.placement;
  f.deps.metrics.gatewayError(p.route.service, p.version.label, p.releaseId, status, performance.now() - f.started);
}

/**
 * The hash of the sticky user key of a request that got a 5xx (split.ts's key: header, cookie,
 * else client IP; `issuedKey` when the gateway minted the cookie for this very request), or
 * null outside a release. Runs on errors only.
 */
function errorUser(p: Placement, req: IncomingMessage, issuedKey: string | null): string | null {
  if (p.releaseId === null) return null;
  return userHash(p.route.canary?.salt ?? '', issuedKey ?? userKeyOf(p.route, req, false).key);
}

function finishAborted(f: Flight): void {
  if (f.done) return;
  f.done = true;
  f.deps.metrics.clientAborted(f.placement.route.service, f.placement.version.label);
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
function retryTarget(f: Flight, failed: Endpoint): Endpoint | null {
  const { deps } = f;
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

/** When the last local-resource warning was logged, and how many failures it has not told of since. */
const localWarnings = { at: -Infinity, unlogged: 0 };

/** At most one warning a second: an exhausted gateway must not also flood its log, one line per request. */
function warnLocalFailure(deps: ProxyDeps, err: unknown, service: string): void {
  const now = deps.now();
  if (now - localWarnings.at < 1_000) {
    localWarnings.unlogged++;
    return;
  }
  deps.logger.warn(
    { err, service, alsoSince: localWarnings.unlogged },
    'gateway out of local resources (file descriptors, ports, memory): request answered 503, counted as a gateway error',
  );
  localWarnings.at = now;
  localWarnings.unlogged = 0;
}

function onFailure(f: Flight, endpoint: Endpoint, err: unknown): void {
  const { deps } = f;
  const kind = classify(err);
  if (kind === 'aborted' || f.aborted) return finishAborted(f);
  const { route, version } = f.placement;
  if (isGatewayFailure(kind)) {
    // Not the endpoint's fault: no ejection, no upstream error, no retry (it would fail alike).
    warnLocalFailure(deps, err, route.service);
    replyText(f.res, statusFor(kind), 'gateway overloaded');
    return finishAsGateway(f, statusFor(kind));
  }
  if (kind !== 'client' && kind !== 'other') {
    if (recordFailure(endpoint, deps.now(), deps.outlier)) {
      deps.logger.warn({ endpoint: endpoint.url, service: route.service, until: endpoint.health.ejectedUntil }, 'endpoint ejected');
    }
  }
  if (kind !== 'client') deps.metrics.upstreamError(route.service, version.label, metricKind(kind));
  if (!f.isRetry && retryable(f, kind)) {
    const next = retryTarget(f, endpoint);
    if (next !== null) return launch(f, next, true);
  }
  deps.logger.debug({ err, endpoint: endpoint.url, service: route.service }, 'upstream request failed');
  const status = statusFor(kind);
  replyText(
    f.res,
    status,
    status === 504 ? 'upstream timed out' : status === 400 ? 'request body did not match its framing' : 'upstream unavailable',
  );
  finish(f, status);
}

/** Response headers for the client: upstream's minus hop-by-hop, plus our cookie and version. */
function clientHeaders(f: Flight, upstream: IncomingHttpHeaders): string[] {
  const headers = downstreamResponseHeaders(upstream);
  if (f.setCookie !== null) headers.push('set-cookie', f.setCookie);
  if (f.deps.exposeVersionHeader) headers.push('x-tern-version', f.placement.version.label);
  return headers;
}

/** The upstream broke off mid-body: the client saw a truncated answer. */
function brokeMidBody(f: Flight, endpoint: Endpoint): void {
  const { deps } = f;
  f.res.destroy();
  if (f.aborted) return finishAborted(f);
  deps.metrics.upstreamError(f.placement.route.service, f.placement.version.label, 'reset');
  recordFailure(endpoint, deps.now(), deps.outlier);
  finish(f, 502);
}

/**
 * One request in flight, and the undici dispatch handler of its current attempt: response bytes
 * go straight from the upstream socket into the client response, with backpressure by
 * pause/resume. The request path allocates this one object — no promise, Readable,
 * AbortController or closure per request: those were a fifth of the gateway's CPU time under
 * load (bench/gateway).
 */
class Flight implements Dispatcher.DispatchHandler {
  /** The endpoint of the current attempt. */
  endpoint: Endpoint;
  isRetry = false;
  /** The current attempt's response status; non-zero once its response started (bytes may have reached the client). */
  status = 0;
  /** The client left before the response finished. */
  aborted = false;
  /** Metrics recorded; nothing more to count. */
  done = false;
  /** Controls the current attempt's upstream request once undici started it. */
  controller: Dispatcher.DispatchController | null = null;
  /** A first response chunk not yet written (see onResponseData). */
  held: Buffer | null = null;
  /** The response body spans ticks: write chunks as they come. */
  streaming = false;

  constructor(
    readonly deps: ProxyDeps,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    public placement: Placement,
    readonly path: string,
    readonly hasBody: boolean,
    readonly started: number,
    readonly setCookie: string | null,
    /** The user key minted for this request (the issued cookie's value), or null. */
    readonly issuedKey: string | null,
  ) {
    this.endpoint = placement.endpoint!;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.aborted) return controller.abort(CLIENT_GONE);
    this.controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (status < 200) return; // 1xx: node:http answers the client's Expect itself
    this.status = status;
    recordSuccess(this.endpoint);
    this.res.writeHead(status, clientHeaders(this, headers));
  }

  /**
   * The first chunk is held until the end of the tick: a small response usually ends in the
   * same tick, and `res.end(chunk)` sends status line, headers and body in one write instead
   * of two passes through the response stream (≈ 8% of throughput, bench/gateway). A chunk is
   * never held longer, so a streamed answer (SSE, long poll) reaches the client at once.
   */
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.held === null && !this.streaming) {
      this.held = chunk;
      process.nextTick(releaseHeld, this);
      return;
    }
    this.streaming = true;
    if (this.held !== null) {
      this.res.write(this.held);
      this.held = null;
    }
    if (this.res.write(chunk)) return;
    controller.pause();
    this.res.once('drain', () => controller.resume());
  }

  /** The response is complete and handed to the client's socket: that is where latency ends. */
  onResponseEnd(): void {
    this.controller = null;
    const held = this.held;
    this.held = null;
    if (held === null) this.res.end();
    else this.res.end(held);
    finish(this, this.status);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.controller = null;
    this.held = null;
    if (this.status !== 0) return brokeMidBody(this, this.endpoint);
    onFailure(this, this.endpoint, err);
  }
}

/** Writes a chunk still held at the end of its tick; the response goes on streaming. */
function releaseHeld(f: Flight): void {
  if (f.held === null) return;
  f.streaming = true;
  const chunk = f.held;
  f.held = null;
  if (!f.res.destroyed) f.res.write(chunk);
}

const FLIGHT = Symbol('tern.flight');
type Carried = ServerResponse & { [FLIGHT]?: Flight };

/** The client went away before its response finished: the upstream request goes with it. */
function onClientGone(this: ServerResponse): void {
  const f = (this as Carried)[FLIGHT];
  if (f === undefined || this.writableFinished || f.aborted) return;
  f.aborted = true;
  f.controller?.abort(CLIENT_GONE);
  finishAborted(f);
}

function attempt(f: Flight, endpoint: Endpoint, isRetry: boolean): void {
  f.endpoint = endpoint;
  f.isRetry = isRetry;
  f.status = 0;
  f.held = null;
  f.streaming = false;
  endpoint.pool.dispatch(
    {
      path: endpoint.basePath + f.path,
      method: f.req.method as Dispatcher.HttpMethod,
      headers: upstreamRequestHeaders(f.req, { authority: endpoint.authority, proto: 'http' }),
      body: f.hasBody ? f.req : null,
    },
    f,
  );
}

/**
 * Runs one attempt; anything unexpected (e.g. an upstream header node refuses to re-send)
 * becomes a 502 for this request rather than an exception that ends the process.
 */
function launch(f: Flight, endpoint: Endpoint, isRetry: boolean): void {
  try {
    attempt(f, endpoint, isRetry);
  } catch (err) {
    f.deps.logger.error({ err, endpoint: endpoint.url, service: f.placement.route.service }, 'proxying failed');
    replyText(f.res, 502, 'upstream answer could not be relayed');
    finishAsGateway(f, 502);
  }
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
      const user = errorUser(placement, req, decision.issueCookie);
      deps.metrics.observe(route.service, placement.version.label, placement.releaseId, 503, performance.now() - started, user);
      return;
    }
    const f = new Flight(deps, req, res, placement, target.path, hasRequestBody(req), started, setCookie, decision.issueCookie);
    // A client that leaves before the response ends takes the upstream request with it. One
    // shared listener finds its flight on the response. A bodiless request emits no errors
    // without a listener (node:http); a body's errors also reach undici, which reads it.
    (res as Carried)[FLIGHT] = f;
    res.on('close', onClientGone);
    if (f.hasBody) req.on('error', () => onClientGone.call(res));
    launch(f, placement.endpoint, false);
  };
}
