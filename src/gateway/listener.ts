/**
 * The gateway's user-facing node:http listener: request and upgrade handlers behind the
 * connection gate and the request screen, the parse-error answer, and a graceful close that
 * also cuts upgraded tunnels (node:http stops tracking a socket once it is upgraded, so the
 * gateway tracks those itself).
 *
 * Request-parse errors (a bad request line, Content-Length together with Transfer-Encoding,
 * oversized headers — rejected by llhttp as RFC 9112 §6.3 and §11.2 require) are answered 400
 * and the connection is closed: such a request is never forwarded, so it cannot desynchronise
 * an upstream connection. (Node's default would answer 431 to oversized headers.) A request
 * head not complete within the headers timeout is answered 408 (limits.ts); node checks
 * timeouts every `connectionsCheckingInterval`, so that interval is kept well under them. A
 * connection that sends nothing at all is closed by the silent reaper, and timed-out connections
 * are destroyed a slice per turn of the loop, so an idle-connection attack's thousands of
 * closes never stall the users' requests (silent-reaper.ts, close-queue.ts).
 *
 * Drain (close): the listener stops accepting (in a cluster worker this takes it out of the
 * primary's hand-off), every answer not yet started carries `Connection: close` and ends its
 * connection, a connection idle for the whole first second of the drain is closed, and what is
 * still open when the drain timeout ends is cut.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHttpServer, type ServingTls } from '../net/tls.js';
import { Server as NetServer } from 'node:net';
import { CloseQueue } from './close-queue.js';
import { replyRaw, replyText } from './failures.js';
import { ConnectionGate, refuseConnection, type LimitSettings } from './limits.js';
import { createRequestHandler, hasRequestBody, type ProxyDeps } from './proxy.js';
import { refuseRaw, screen } from './request-screen.js';
import { SilentReaper } from './silent-reaper.js';
import { createUpgradeHandler } from './upgrade.js';

export interface ListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxHeaderSize?: number;
  /** Serve HTTPS with this certificate (reloadable). */
  readonly tls?: ServingTls | undefined;
  /** Bind in this process even in a cluster worker (whose port-0 listens the primary would otherwise share). */
  readonly exclusive?: boolean;
}

export interface ProxyListener {
  readonly server: Server;
  readonly port: number;
  /** Counts open user connections and refusals. */
  readonly gate: ConnectionGate;
  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts the rest. */
  close(graceMs: number): Promise<void>;
}

/** How long an idle keep-alive connection may still send one request (answered `Connection: close`) once a drain began. */
const IDLE_DRAIN_MS = 1_000;

/** `http://host:port`, with IPv6 hosts in brackets. */
export function urlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** net.Server's close: stops listening but, unlike node:http's, leaves idle keep-alive connections open. */
// eslint-disable-next-line @typescript-eslint/unbound-method
const netServerClose = NetServer.prototype.close;

/** Timed-out connections, destroyed a slice per turn of the loop (close-queue.ts). */
const timedOutClosing = new CloseQueue();

/** Sockets refused by the gate: whatever they carry is ignored until they close. */
const refused = new WeakSet<Socket>();

/** The response node is writing on `socket`, if any (node:http's own field). */
function responseOn(socket: Socket): ServerResponse | undefined {
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
}

function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset, a refused socket, or an answer already under way: nothing more can be said.
  if (err.code === 'ECONNRESET' || !socket.writable || refused.has(socket) || responseOn(socket)?.headersSent === true) {
    socket.destroy();
    return;
  }
  const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  // A connection that never sent a byte has no request to answer: close it, cheaply. Node's
  // sweep hands over every connection that expired since the last one at once: queued, so
  // thousands of closes do not stall the users' requests (close-queue.ts).
  if (timedOut && socket.bytesRead === 0) return timedOutClosing.destroy(socket);
  replyRaw(socket, timedOut ? 408 : 400, timedOut ? 'request timed out' : 'malformed request');
  lingerThenDestroy(socket);
}

/**
 * `CONNECT` asks for a forward-proxy tunnel, which this reverse proxy never opens. Node emits
 * it as `connect` and, with no listener, closed the socket without a word (found by
 * test/fuzz-gateway.test.ts): answer 405 like any method a resource does not
 * support (RFC 9110 §9.3.6, §15.5.6), then close.
 */
function refuseConnect(req: IncomingMessage, socket: Socket): void {
  if (refused.has(socket)) return void socket.destroy();
  replyRaw(socket, 405, `CONNECT ${req.url ?? ''} refused: this gateway is a reverse proxy and opens no tunnels`.slice(0, 300));
  lingerThenDestroy(socket);
}

/**
 * After an answer and a FIN, a client that never closes its side would keep the descriptor
 * forever (node:http sockets allow half-open): give it a second to read the answer, then cut.
 */
function lingerThenDestroy(socket: Socket): void {
  setTimeout(() => socket.destroy(), 1_000).unref();
}

/** A request body stopped flowing: 408 if nothing was answered yet, then the connection goes. */
function bodyStalled(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  if (res.headersSent || !socket.writable) return void socket.destroy();
  // Raw, not through `res`: the proxy still owns `res`. Closing the socket makes the proxy
  // abort the upstream request as a client that left, which is not counted as a version error.
  replyRaw(socket, 408, 'request body timed out');
  lingerThenDestroy(socket);
}

function screened(
  limits: LimitSettings,
  draining: () => boolean,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (refused.has(req.socket)) return;
    // Draining: answer this one, then close the connection (node writes `Connection: close`).
    if (draining()) res.shouldKeepAlive = false;
    const refusal = screen(req, limits.maxHeaderCount);
    if (refusal !== null) return replyText(res, refusal.status, refusal.reason, { connection: 'close' });
    if (limits.bodyIdleTimeoutMs > 0 && hasRequestBody(req)) {
      req.setTimeout(limits.bodyIdleTimeoutMs, () => bodyStalled(req, res));
      // Body received: the answer may take as long as the upstream needs (SSE, long polls).
      req.once('end', () => (res.writableFinished ? undefined : req.socket.setTimeout(0)));
    }
    handler(req, res);
  };
}

function screenedUpgrade(
  limits: LimitSettings,
  handler: (req: IncomingMessage, socket: Socket, head: Buffer) => void,
): (req: IncomingMessage, socket: Socket, head: Buffer) => void {
  return (req, socket, head) => {
    if (refused.has(socket)) return void socket.destroy();
    const refusal = screen(req, limits.maxHeaderCount);
    if (refusal !== null) {
      socket.on('error', () => socket.destroy());
      refuseRaw(socket, refusal);
      return lingerThenDestroy(socket);
    }
    handler(req, socket, head);
  };
}

/**
 * How often node looks for expired header/request timeouts: a fifth of the shortest, 0.1–1 s.
 * Each look walks every open connection (~4.4 ms for 16,000), so it is not made more frequent;
 * connections that never send a byte, the bulk of an idle-connection attack, are closed on time
 * by the silent reaper instead (silent-reaper.ts).
 */
function checkingInterval(limits: LimitSettings): number {
  const positive = [limits.headersTimeoutMs, limits.requestTimeoutMs].filter((t) => t > 0);
  return positive.length === 0 ? 1_000 : Math.min(1_000, Math.max(100, Math.floor(Math.min(...positive) / 5)));
}

/**
 * The kernel's queue of connections not yet accepted (capped by net.core.somaxconn, 4096 on
 * current kernels). Node's 511 overflowed when a surge of users connected faster than busy
 * workers accepted (bench/scale): each overflow drops a SYN that the client resends only after
 * 1 s, then 3 s.
 */
const LISTEN_BACKLOG = 4096;

async function listen(server: Server, port: number, host: string, exclusive = false): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts the rest. */
export async function closeServer(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}

/**
 * The drain: stop accepting (without node's immediate cut of idle connections), mark every
 * answer not yet started `Connection: close`, give idle connections IDLE_DRAIN_MS to send one
 * last request, then close those still idle; at `graceMs` cut everything left.
 */
async function drainServer(server: Server, answering: ReadonlySet<ServerResponse>, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => netServerClose.call(server, () => resolve()));
  for (const res of answering) if (!res.headersSent) res.shouldKeepAlive = false;
  const idle = setTimeout(() => server.closeIdleConnections(), Math.min(IDLE_DRAIN_MS, graceMs));
  const cut = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(idle);
  clearTimeout(cut);
  // node:http's own close clears its timeout checker; the listening socket is already gone.
  server.close(() => undefined);
}

/** Starts the proxy listener. @throws when the port cannot be bound. */
export async function startProxyListener(
  options: ListenerOptions,
  deps: ProxyDeps,
  upstream: { readonly connectTimeoutMs: number; readonly headersTimeoutMs: number },
  limits: LimitSettings,
): Promise<ProxyListener> {
  const tunnels = new Set<Socket>();
  const track = (...sockets: Socket[]): void => {
    for (const s of sockets) {
      tunnels.add(s);
      s.once('close', () => tunnels.delete(s));
    }
  };
  let draining = false;
  const answering = new Set<ServerResponse>();
  const server = createHttpServer(
    options.tls,
    {
      maxHeaderSize: options.maxHeaderSize ?? 16_384,
      // node refuses a headers timeout above the request timeout; the whole request bounds its head anyway.
      headersTimeout:
        limits.requestTimeoutMs > 0 ? Math.min(limits.headersTimeoutMs || Infinity, limits.requestTimeoutMs) : limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: checkingInterval(limits),
    },
    screened(limits, () => draining, createRequestHandler(deps)),
  );
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    answering.add(res);
    res.once('close', () => answering.delete(res));
  });
  // One more than the cap, so the screen sees a request that exceeds it (node drops the rest silently).
  server.maxHeadersCount = limits.maxHeaderCount + 1;
  const gate = new ConnectionGate(limits.maxConnections, limits.maxConnectionsPerClient);
  const silent = limits.headersTimeoutMs > 0 ? new SilentReaper(limits.headersTimeoutMs, timedOutClosing) : null;
  // Before node's own listener, so a refused socket is marked before any request is parsed.
  server.prependListener('connection', (socket: Socket) => {
    if (gate.admit(socket)) return silent?.watch(socket);
    refused.add(socket);
    refuseConnection(socket);
  });
  server.on('upgrade', screenedUpgrade(limits, createUpgradeHandler({ ...deps, ...upstream, track })));
  server.on('clientError', onClientError);
  server.on('connect', refuseConnect);
  const port = await listen(server, options.port, options.host, options.exclusive);
  return {
    server,
    port,
    gate,
    async close(graceMs) {
      draining = true;
      // Upgraded tunnels are not node:http's connections any more: they are cut at the same deadline.
      const cut = setTimeout(() => tunnels.forEach((s) => s.destroy()), graceMs);
      await drainServer(server, answering, graceMs);
      clearTimeout(cut);
      silent?.stop();
      for (const s of tunnels) s.destroy();
    },
  };
}
