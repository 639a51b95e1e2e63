/**
 * Upgrade pass-through (WebSocket, RFC 6455 §4; HTTP Upgrade, RFC 9110 §7.8): the request is
 * routed and split like any other and re-sent on a fresh connection to the chosen endpoint with
 * `Connection: Upgrade` and `Upgrade` kept (the only hop-by-hop fields an upgrade needs).
 *
 * Only a real `101 Switching Protocols` turns the two connections into a byte-for-byte tunnel
 * (RFC 9110 §15.2.2: the protocol changes only after the 101). Any other answer is relayed as a
 * plain response with `Connection: close` and both connections are closed: piping at
 * once would let a second request, sent on the same socket after a backend's 200, reach the
 * backend unrouted, unmeasured and with a spoofed X-Forwarded-For. Bytes the client sends
 * before the 101 are held until then (and dropped with anything else on a refusal).
 *
 * A failed connect is retried once on another endpoint of the same version (a canary with none
 * left falls back to stable), as for plain requests. The user key cannot come from a cookie the
 * gateway issues here (it does not write the 101), so a cookie-less upgrade is keyed by the
 * client IP.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { place, pickEndpoint, type Placement } from './balancer.js';
import type { Endpoint } from './endpoints.js';
import { classify, isConnectFailure, replyRaw, statusFor } from './failures.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';
import { recordFailure, recordSuccess } from './health.js';
import { splitTarget, type ProxyDeps } from './proxy.js';
import { decide } from './split.js';

export interface UpgradeDeps extends ProxyDeps {
  readonly connectTimeoutMs: number;
  /** How long the upstream may take to answer the upgrade request once connected, ms. */
  readonly headersTimeoutMs: number;
  /** Called with each piped pair so shutdown can close long-lived tunnels. */
  readonly track: (client: Socket, upstream: Socket) => void;
}

/** One upgrade attempt against one endpoint. */
interface Attempt {
  readonly deps: UpgradeDeps;
  readonly placement: Placement;
  readonly req: IncomingMessage;
  readonly client: Socket;
  readonly head: Buffer;
  readonly path: string;
  readonly isRetry: boolean;
  readonly started: number;
}

function open(a: Attempt, endpoint: Endpoint): ClientRequest {
  const headers = upstreamRequestHeaders(a.req, { authority: endpoint.authority, proto: 'http' });
  headers.push('connection', 'Upgrade', 'upgrade', String(a.req.headers.upgrade ?? 'websocket'));
  const options = {
    host: endpoint.hostname,
    port: endpoint.port,
    method: a.req.method ?? 'GET',
    path: endpoint.basePath + a.path,
    headers,
    agent: false,
    setHost: false,
  } as const;
  return endpoint.tls ? httpsRequest({ ...options, servername: endpoint.hostname }) : httpRequest(options);
}

function timeoutError(code: 'ETIMEDOUT' | 'UND_ERR_HEADERS_TIMEOUT'): Error {
  return Object.assign(new Error(code === 'ETIMEDOUT' ? 'connect timed out' : 'no upgrade answer in time'), { code });
}

/** The upstream accepted: send its 101 on, then pipe both ways. */
function switchProtocols(a: Attempt, res: IncomingMessage, upstream: Socket, upHead: Buffer): void {
  const { client, deps, placement: p } = a;
  deps.metrics.observe(p.route.service, p.version.label, p.releaseId, 101, performance.now() - a.started);
  let head = `HTTP/1.1 101 ${res.statusMessage ?? 'Switching Protocols'}\r\n`;
  for (let i = 0; i < res.rawHeaders.length; i += 2) head += `${res.rawHeaders[i]!}: ${res.rawHeaders[i + 1]!}\r\n`;
  upstream.setTimeout(0);
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
  client.on('close', () => upstream.destroy());
  client.write(`${head}\r\n`);
  if (upHead.length > 0) client.write(upHead);
  if (a.head.length > 0) upstream.write(a.head);
  upstream.pipe(client);
  client.pipe(upstream);
  a.deps.track(client, upstream);
}

/** The upstream answered without switching: relay that answer as a plain response and close. */
function relayRefusal(a: Attempt, upstreamReq: ClientRequest, res: IncomingMessage): void {
  const { client, deps, placement: p } = a;
  const status = res.statusCode ?? 502;
  deps.metrics.observe(p.route.service, p.version.label, p.releaseId, status, performance.now() - a.started);
  const headers = downstreamResponseHeaders(res.headers);
  let head = `HTTP/1.1 ${status} ${res.statusMessage ?? ''}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]!}: ${headers[i + 1]!}\r\n`;
  // Without Transfer-Encoding (hop-by-hop, dropped) a body without Content-Length ends at close.
  client.write(`${head}connection: close\r\n\r\n`);
  client.on('data', () => undefined); // read and drop: the client's further bytes go nowhere
  res.on('error', () => client.destroy());
  res.pipe(client);
  res.once('end', () => {
    upstreamReq.destroy();
    setTimeout(() => client.destroy(), 1_000).unref();
  });
  client.once('close', () => upstreamReq.destroy());
}

function onFailure(a: Attempt, endpoint: Endpoint, err: unknown): void {
  const { deps, placement: p, client } = a;
  const kind = classify(err);
  recordFailure(endpoint, deps.now(), deps.outlier);
  deps.metrics.upstreamError(p.route.service, p.version.label, kind === 'connect' ? 'connect' : kind === 'reset' ? 'reset' : 'timeout');
  if (!a.isRetry && isConnectFailure(kind) && !client.destroyed) {
    const next = pickEndpoint(p.version, deps.now(), endpoint);
    if (next !== null) return attempt({ ...a, isRetry: true }, next);
    const stable = p.served === 'canary' ? pickEndpoint(p.route.stable, deps.now()) : null;
    if (stable !== null) {
      deps.metrics.canaryFallback(p.route.service, p.releaseId ?? '');
      return attempt(
        { ...a, isRetry: true, placement: { ...p, served: 'stable', version: p.route.stable, endpoint: stable, fellBack: true } },
        stable,
      );
    }
  }
  const status = statusFor(kind);
  deps.metrics.observe(p.route.service, p.version.label, p.releaseId, status, performance.now() - a.started);
  replyRaw(client, status, status === 504 ? 'upstream timed out' : 'upstream unavailable');
}

function attempt(a: Attempt, endpoint: Endpoint): void {
  const { deps, client } = a;
  const upstreamReq = open(a, endpoint);
  let answered = false;
  let clientGone = false;
  let timer = setTimeout(() => upstreamReq.destroy(timeoutError('ETIMEDOUT')), deps.connectTimeoutMs);
  upstreamReq.once('socket', (socket: Socket) => {
    socket.once(endpoint.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      recordSuccess(endpoint);
      timer = setTimeout(() => upstreamReq.destroy(timeoutError('UND_ERR_HEADERS_TIMEOUT')), deps.headersTimeoutMs);
    });
  });
  upstreamReq.on('error', (err) => {
    clearTimeout(timer);
    if (answered) return void client.destroy();
    if (clientGone) return deps.metrics.clientAborted(a.placement.route.service, a.placement.version.label);
    onFailure(a, endpoint, err);
  });
  upstreamReq.once('upgrade', (res: IncomingMessage, upstream: Socket, upHead: Buffer) => {
    clearTimeout(timer);
    answered = true;
    switchProtocols(a, res, upstream, upHead);
  });
  upstreamReq.once('response', (res: IncomingMessage) => {
    clearTimeout(timer);
    answered = true;
    relayRefusal(a, upstreamReq, res);
  });
  const onClientClose = (): void => {
    if (answered) return;
    clientGone = true;
    upstreamReq.destroy();
  };
  client.once('close', onClientClose);
  upstreamReq.once('close', () => client.off('close', onClientClose));
  upstreamReq.end();
}

/** Builds the node:http 'upgrade' listener. */
export function createUpgradeHandler(deps: UpgradeDeps): (req: IncomingMessage, socket: Socket, head: Buffer) => void {
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const target = splitTarget(req.url ?? '/', req.headers.host);
    const route = deps.currentTable()?.match(target.host, target.path) ?? null;
    if (route === null) {
      deps.metrics.unmatched();
      return replyRaw(socket, 404, 'no service matches this request');
    }
    const placement = place(route, decide(route, req, false).target, deps.now());
    if (placement.fellBack) deps.metrics.canaryFallback(route.service, placement.releaseId ?? '');
    if (placement.endpoint === null) {
      deps.metrics.observe(route.service, placement.version.label, placement.releaseId, 503, 0);
      return replyRaw(socket, 503, 'no healthy endpoint for this service');
    }
    const a: Attempt = { deps, placement, req, client: socket, head, path: target.path, isRetry: false, started: performance.now() };
    attempt(a, placement.endpoint);
  };
}
