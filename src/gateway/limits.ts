/**
 * Connection limits and timeouts of the gateway's user listener.
 *
 * Before these, node's `requestTimeout: 0` also made its `headersTimeout` 0, so a client that
 * never finished its headers held a connection forever, and nothing capped connections: 21,000
 * slow clients took 19,999 of 20,000 file descriptors, the gateway answered 502 to every user
 * (counted as canary errors) and could not write its state file or reach its API (EMFILE).
 *
 * Defaults and why:
 * - `headersTimeoutMs` 10 s: a real client sends its request head in one packet; 10 s covers a
 *   slow mobile link. Past it the client gets 408 and the connection closes (a socket that
 *   never sent a byte is just closed: there is no request to answer).
 * - `requestTimeoutMs` 300 s (node's default) bounds receiving a whole request, body included;
 *   `bodyIdleTimeoutMs` 60 s (NGINX's client_body_timeout) bounds a body that stops flowing.
 * - `keepAliveTimeoutMs` 75 s: NGINX's keepalive_timeout. Node's 5 s default closed idle users'
 *   connections between requests, so nearly every request paid a new connection (measured:
 *   564,246 closes, p99 6 s); 75 s lets a user who clicks every ~20 s keep one connection.
 * - `maxConnections`: the process's open-file limit minus a reserve of max(256, 10%) for
 *   upstream sockets (the pools), the state file, logs and the control-plane connection, so
 *   the gateway never runs out of descriptors for its own work. 20,000 → 18,000; 1,024 → 768.
 * - `maxConnectionsPerClient` 256 per address (IPv6 per /64): a browser opens ≤ 6 per origin;
 *   256 leaves room for a NAT or a corporate proxy while one source cannot take the whole cap.
 *
 * Over a cap, the new connection gets `503` with `Connection: close` and `Retry-After: 1` and is
 * closed; the requests it carried never reach a route, so they are never counted against a
 * version.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

export interface LimitSettings {
  /** Time to receive a request's head, ms (0: none). */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request, body included, ms (0: none). */
  readonly requestTimeoutMs: number;
  /** Longest pause within a request body, ms (0: none). */
  readonly bodyIdleTimeoutMs: number;
  /** How long an idle keep-alive connection is kept between requests, ms. */
  readonly keepAliveTimeoutMs: number;
  /** Open user connections at most (the process's, not per worker set). */
  readonly maxConnections: number;
  /** Open connections at most per client address (IPv6: per /64). */
  readonly maxConnectionsPerClient: number;
  /** Request header lines at most (431 beyond). */
  readonly maxHeaderCount: number;
}

const FD_FALLBACK = 1_024;

/** The soft open-file limit of this process (Linux /proc), or 1,024 when it cannot be read. */
export function openFileLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(read());
    if (line === null) return FD_FALLBACK;
    return line[1] === 'unlimited' ? 1_048_576 : Number(line[1]);
  } catch {
    return FD_FALLBACK;
  }
}

/** How long an idle keep-alive client connection is kept by default (the HAProxy data plane uses it too). */
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 75_000;

/** The default connection cap for an open-file limit: the limit minus max(256, 10%). */
export function connectionCapFor(fdLimit: number): number {
  return Math.max(64, fdLimit - Math.max(256, Math.ceil(fdLimit / 10)));
}

export function defaultLimits(fdLimit = openFileLimit()): LimitSettings {
  return {
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 300_000,
    bodyIdleTimeoutMs: 60_000,
    keepAliveTimeoutMs: DEFAULT_KEEPALIVE_TIMEOUT_MS,
    maxConnections: connectionCapFor(fdLimit),
    maxConnectionsPerClient: 256,
    maxHeaderCount: 100,
  };
}

/** The per-client key: the address, with IPv4-mapped IPv6 unwrapped and IPv6 cut to its /64. */
export function clientKey(address: string | undefined): string {
  if (address === undefined) return '';
  if (!address.includes(':')) return address;
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** What the gate counted a socket under, kept on the socket so one shared `close` listener can uncount it. */
const counted = Symbol('tern.gate');
type Counted = Socket & { [counted]?: { readonly gate: ConnectionGate; readonly key: string } };

/** The one `close` listener of every admitted socket (no closure per connection). */
function uncount(this: Counted): void {
  const entry = this[counted];
  if (entry !== undefined) entry.gate.release(entry.key);
}

/** Counts open connections, in total and per client, and refuses those over a cap. */
export class ConnectionGate {
  #open = 0;
  readonly #perClient = new Map<string, number>();
  #refused = 0;

  constructor(
    readonly max: number,
    readonly maxPerClient: number,
  ) {}

  get open(): number {
    return this.#open;
  }

  /** Connections refused so far. */
  get refused(): number {
    return this.#refused;
  }

  /** Counts `socket` in until it closes; false (and nothing counted) when a cap is reached. */
  admit(socket: Socket): boolean {
    const key = clientKey(socket.remoteAddress);
    const mine = this.#perClient.get(key) ?? 0;
    if (this.#open >= this.max || mine >= this.maxPerClient) {
      this.#refused++;
      return false;
    }
    this.#open++;
    this.#perClient.set(key, mine + 1);
    (socket as Counted)[counted] = { gate: this, key };
    socket.once('close', uncount);
    return true;
  }

  /** Uncounts one connection of `key` (its socket closed). */
  release(key: string): void {
    this.#open--;
    const left = (this.#perClient.get(key) ?? 1) - 1;
    if (left === 0) this.#perClient.delete(key);
    else this.#perClient.set(key, left);
  }
}

const LINGER_MS = 1_000;

/**
 * Answers a refused connection with 503 and closes it. Its bytes are still read (and any
 * request in them ignored) until the client closes or a second passes: closing with unread
 * data would send a reset that can destroy the 503 before the client reads it.
 */
export function refuseConnection(socket: Socket): void {
  socket.on('error', () => socket.destroy());
  const body = 'too many connections; retry shortly\n';
  socket.end(
    `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n` +
      `cache-control: no-store\r\nretry-after: 1\r\nconnection: close\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/**
 * Requests `tern gateway` and `tern server` send through their own proxy path before the user
 * listener opens (warm-up.ts): ~0.3–0.8 s at start; 300 already removed most of the cold cost,
 * 1,000 brought the next requests to a warm gateway's CPU cost (bench/hostile/cold-start.ts).
 */
export const DEFAULT_WARM_UP_REQUESTS = 1_000;
