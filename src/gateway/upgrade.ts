/**
 * Upgrade pass-through (WebSocket, RFC 6455 §4; HTTP Upgrade, RFC 9110 §7.8): the request is
 * routed and split like any other, re-sent on a fresh connection to the chosen endpoint with
 * `Connection: Upgrade` and `Upgrade` kept (the only hop-by-hop fields an upgrade needs), and
 * from then on the two sockets are piped to each other byte for byte — the upstream's 101
 * (or refusal) reaches the client untouched. A failed connect is retried once on another
 * endpoint of the same version, as for plain requests.
 *
 * The user key cannot come from a cookie the gateway issues here (it does not write the 101),
 * so a cookie-less upgrade is keyed by the client IP.
 */
import type { IncomingMessage } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { place, pickEndpoint, type Placement } from './balancer.js';
import type { Endpoint } from './endpoints.js';
import { classify, isConnectFailure, replyRaw, statusFor } from './failures.js';
import { upstreamRequestHeaders } from './headers.js';
import { recordFailure, recordSuccess } from './health.js';
import { splitTarget, type ProxyDeps } from './proxy.js';
import { decide } from './split.js';

export interface UpgradeDeps extends ProxyDeps {
  readonly connectTimeoutMs: number;
  /** Called with each piped pair so shutdown can close long-lived tunnels. */
  readonly track: (client: Socket, upstream: Socket) => void;
}

function requestHead(req: IncomingMessage, endpoint: Endpoint, path: string): string {
  const headers = upstreamRequestHeaders(req, { authority: endpoint.authority, proto: 'http' });
  headers.push('connection', 'Upgrade', 'upgrade', String(req.headers.upgrade ?? 'websocket'));
  let head = `${req.method ?? 'GET'} ${endpoint.basePath}${path} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]!}: ${headers[i + 1]!}\r\n`;
  return `${head}\r\n`;
}

function open(endpoint: Endpoint, timeoutMs: number): Socket {
  const socket = endpoint.tls
    ? tlsConnect({ host: endpoint.hostname, port: endpoint.port, servername: endpoint.hostname, ALPNProtocols: ['http/1.1'] })
    : netConnect({ host: endpoint.hostname, port: endpoint.port });
  socket.setTimeout(timeoutMs, () => socket.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })));
  return socket;
}

function tunnel(
  deps: UpgradeDeps,
  p: Placement,
  req: IncomingMessage,
  client: Socket,
  head: Buffer,
  endpoint: Endpoint,
  path: string,
  isRetry: boolean,
): void {
  const started = performance.now();
  const upstream = open(endpoint, deps.connectTimeoutMs);
  const connectEvent = endpoint.tls ? 'secureConnect' : 'connect';
  const onConnectError = (err: Error): void => {
    const kind = classify(err);
    recordFailure(endpoint, deps.now(), deps.outlier);
    deps.metrics.upstreamError(p.route.service, p.version.label, kind === 'connect' ? 'connect' : 'timeout');
    const next = !isRetry && isConnectFailure(kind) ? pickEndpoint(p.version, deps.now(), endpoint) : null;
    if (next !== null && !client.destroyed) return tunnel(deps, p, req, client, head, next, path, true);
    const stable = !isRetry && isConnectFailure(kind) && p.served === 'canary' ? pickEndpoint(p.route.stable, deps.now()) : null;
    if (stable !== null && !client.destroyed) {
      deps.metrics.canaryFallback(p.route.service, p.releaseId ?? '');
      return tunnel(
        deps,
        { ...p, served: 'stable', version: p.route.stable, endpoint: stable, fellBack: true },
        req,
        client,
        head,
        stable,
        path,
        true,
      );
    }
    const status = statusFor(kind);
    deps.metrics.observe(p.route.service, p.version.label, p.releaseId, status, performance.now() - started);
    replyRaw(client, status, status === 504 ? 'upstream timed out' : 'upstream unavailable');
  };
  upstream.once('error', onConnectError);
  upstream.once(connectEvent, () => {
    upstream.off('error', onConnectError);
    upstream.setTimeout(0);
    recordSuccess(endpoint);
    deps.metrics.observe(p.route.service, p.version.label, p.releaseId, 101, performance.now() - started);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.write(requestHead(req, endpoint, path));
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
    deps.track(client, upstream);
  });
  client.once('close', () => {
    if (upstream.connecting) upstream.destroy();
  });
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
    tunnel(deps, placement, req, socket, head, placement.endpoint, target.path, false);
  };
}
