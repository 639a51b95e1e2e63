/**
 * Upstream endpoints: one undici keep-alive pool and one health record per endpoint URL.
 *
 * The registry outlives routing-table versions, so a table swap that keeps an endpoint keeps
 * its warm connections and its health history. An endpoint that leaves the table is retired,
 * not closed at once: requests in flight (and their one retry) may still be using it, so its
 * pool is closed after a grace period, and `Pool#close()` itself lets queued requests finish.
 */
import { Pool } from 'undici';
import { ValidationError } from '../core/errors.js';

/** Connection and timeout settings shared by every endpoint pool. */
export interface PoolSettings {
  /** TCP (and TLS) connect timeout, ms. */
  readonly connectTimeoutMs: number;
  /** Time allowed for the upstream's response headers, ms. */
  readonly headersTimeoutMs: number;
  /** Longest silence between two body chunks, ms (0 disables). */
  readonly bodyTimeoutMs: number;
  /** How long an idle upstream connection is kept, ms. */
  readonly keepAliveTimeoutMs: number;
  /** Most connections per endpoint. */
  readonly connections: number;
}

export const DEFAULT_POOL_SETTINGS: PoolSettings = {
  connectTimeoutMs: 2_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 300_000,
  keepAliveTimeoutMs: 4_000,
  connections: 256,
};

/** Mutable health record, written by passive ejection and active checks (health.ts). */
export interface EndpointHealth {
  /** Verdict of the active checks; true until they say otherwise. */
  healthy: boolean;
  checkStreak: number;
  consecutiveFailures: number;
  /** Epoch ms until which passive ejection keeps the endpoint out; 0 when not ejected. */
  ejectedUntil: number;
  ejections: number;
  lastEjectionMs: number;
  lastEjectedAt: number;
}

export interface Endpoint {
  /** The URL as the routing table names it. */
  readonly url: string;
  readonly origin: string;
  /** `host[:port]` of the endpoint: sent as the upstream Host header. */
  readonly authority: string;
  readonly hostname: string;
  readonly port: number;
  readonly tls: boolean;
  /** Path the endpoint is mounted under, without a trailing slash ('' for none). */
  readonly basePath: string;
  readonly pool: Pool;
  readonly health: EndpointHealth;
}

export interface ParsedEndpointUrl {
  readonly origin: string;
  readonly authority: string;
  readonly hostname: string;
  readonly port: number;
  readonly tls: boolean;
  readonly basePath: string;
}

/**
 * Parses an endpoint base URL (`http://10.0.0.5:8080`, optionally with a base path).
 * @throws ValidationError naming `field` when it is not an http(s) URL without query or fragment.
 */
export function parseEndpointUrl(url: string, field: string): ParsedEndpointUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new ValidationError(field, `"${url}" is not a URL; expected e.g. http://10.0.0.5:8080`, 'TERN_INVALID_REQUEST', { cause: err });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ValidationError(field, `"${url}" must use http: or https:`);
  }
  if (parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '') {
    throw new ValidationError(field, `"${url}" must not carry credentials, a query or a fragment`);
  }
  const tls = parsed.protocol === 'https:';
  const hostname = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  return {
    origin: parsed.origin,
    authority: parsed.host,
    hostname,
    port: parsed.port === '' ? (tls ? 443 : 80) : Number(parsed.port),
    tls,
    basePath: parsed.pathname.replace(/\/+$/, ''),
  };
}

/** True when the endpoint may take traffic now: actively healthy and not ejected. */
export function isAvailable(endpoint: Endpoint, now: number): boolean {
  return endpoint.health.healthy && now >= endpoint.health.ejectedUntil;
}

function newHealth(): EndpointHealth {
  return { healthy: true, checkStreak: 0, consecutiveFailures: 0, ejectedUntil: 0, ejections: 0, lastEjectionMs: 0, lastEjectedAt: 0 };
}

/** Owns every endpoint's pool; see the module header for the retirement rule. */
export class EndpointRegistry {
  readonly #settings: PoolSettings;
  readonly #graceMs: number;
  readonly #live = new Map<string, Endpoint>();
  readonly #retiring = new Map<string, { endpoint: Endpoint; timer: NodeJS.Timeout }>();

  constructor(settings: PoolSettings, graceMs = 60_000) {
    this.#settings = settings;
    this.#graceMs = graceMs;
  }

  /** The endpoint for `url`, creating its pool on first use or reviving a retiring one. */
  acquire(url: string, field = 'endpoint'): Endpoint {
    const live = this.#live.get(url);
    if (live) return live;
    const retiring = this.#retiring.get(url);
    if (retiring) {
      clearTimeout(retiring.timer);
      this.#retiring.delete(url);
      this.#live.set(url, retiring.endpoint);
      return retiring.endpoint;
    }
    const endpoint = this.#create(url, parseEndpointUrl(url, field));
    this.#live.set(url, endpoint);
    return endpoint;
  }

  /** Retires every live endpoint not in `keep` (after a table swap). */
  retainOnly(keep: ReadonlySet<string>): void {
    for (const [url, endpoint] of this.#live) {
      if (keep.has(url)) continue;
      this.#live.delete(url);
      const timer = setTimeout(() => {
        this.#retiring.delete(url);
        void endpoint.pool.close().catch(() => undefined);
      }, this.#graceMs);
      timer.unref();
      this.#retiring.set(url, { endpoint, timer });
    }
  }

  /** Endpoints of the current table. */
  live(): IterableIterator<Endpoint> {
    return this.#live.values();
  }

  /** Destroys every pool, live or retiring (gateway shutdown). */
  async destroyAll(): Promise<void> {
    const all = [...this.#live.values(), ...[...this.#retiring.values()].map((r) => r.endpoint)];
    for (const r of this.#retiring.values()) clearTimeout(r.timer);
    this.#live.clear();
    this.#retiring.clear();
    await Promise.all(all.map((e) => e.pool.destroy().catch(() => undefined)));
  }

  #create(url: string, parsed: ParsedEndpointUrl): Endpoint {
    const s = this.#settings;
    const pool = new Pool(parsed.origin, {
      connections: s.connections,
      pipelining: 1,
      connect: { timeout: s.connectTimeoutMs },
      headersTimeout: s.headersTimeoutMs,
      bodyTimeout: s.bodyTimeoutMs,
      keepAliveTimeout: s.keepAliveTimeoutMs,
    });
    return { url, ...parsed, pool, health: newHealth() };
  }
}
