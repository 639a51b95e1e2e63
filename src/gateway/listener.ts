/**
 * The gateway's user-facing node:http listener: request and upgrade handlers, the parse-error
 * answer, and a graceful close that also cuts upgraded tunnels (node:http stops tracking a
 * socket once it is upgraded, so the gateway tracks those itself).
 *
 * Request-parse errors (a bad request line, Content-Length together with Transfer-Encoding,
 * oversized headers — rejected by llhttp as RFC 9112 §6.3 and §11.2 require) are answered 400
 * and the connection is closed: such a request is never forwarded, so it cannot desynchronise
 * an upstream connection. (Node's default would answer 431 to oversized headers.)
 */
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHttpServer, type ServingTls } from '../net/tls.js';
import { replyRaw } from './failures.js';
import { createRequestHandler, type ProxyDeps } from './proxy.js';
import { createUpgradeHandler } from './upgrade.js';

export interface ListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxHeaderSize?: number;
  /** Serve HTTPS with this certificate (reloadable). */
  readonly tls?: ServingTls | undefined;
}

export interface ProxyListener {
  readonly server: Server;
  readonly port: number;
  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts the rest. */
  close(graceMs: number): Promise<void>;
}

/** `http://host:port`, with IPv6 hosts in brackets. */
export function urlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  replyRaw(socket, status, status === 408 ? 'request timed out' : 'malformed request');
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
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

/** Starts the proxy listener. @throws when the port cannot be bound. */
export async function startProxyListener(options: ListenerOptions, deps: ProxyDeps, connectTimeoutMs: number): Promise<ProxyListener> {
  const tunnels = new Set<Socket>();
  const track = (...sockets: Socket[]): void => {
    for (const s of sockets) {
      tunnels.add(s);
      s.once('close', () => tunnels.delete(s));
    }
  };
  // requestTimeout 0: a large upload may take longer than node's 300 s default; the headers
  // timeout (60 s) still bounds slow-header clients.
  const server = createHttpServer(
    options.tls,
    { maxHeaderSize: options.maxHeaderSize ?? 16_384, requestTimeout: 0 },
    createRequestHandler(deps),
  );
  server.on('upgrade', createUpgradeHandler({ ...deps, connectTimeoutMs, track }));
  server.on('clientError', onClientError);
  const port = await listen(server, options.port, options.host);
  return {
    server,
    port,
    async close(graceMs) {
      await closeServer(server, graceMs);
      for (const s of tunnels) s.destroy();
    },
  };
}
