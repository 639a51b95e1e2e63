/**
 * A small typed client for Tern's REST API (docs/api.md) over undici. It turns transport
 * failures into UnreachableError and error answers into ApiError, so commands only deal with data.
 */
import { Agent, errors as undiciErrors, request } from 'undici';
import { connectOptions } from '../net/tls.js';
import { ApiError, UnreachableError } from './errors.js';
import type { ReplayJson } from '../api/schemas/replay.js';
import type { AnalysisInput } from '../core/plan.js';
import type {
  AnalysisView,
  AuditList,
  FeedbackAcceptedView,
  ReleaseList,
  ReleaseLogsView,
  ReleaseMetricsView,
  ReleaseView,
  ServiceList,
  ServicePatchBody,
  ServiceSpec,
  ServiceView,
  TokenCreated,
  TokenList,
  TokenView,
} from './views.js';

export interface ClientOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:7070` (a path prefix is kept). */
  readonly url: string;
  /** Bearer token; requests go without one when absent. */
  readonly token?: string | undefined;
  /** Whole-request deadline in ms (default 30 s). */
  readonly timeoutMs?: number;
  /** PEM CA bundle trusted for an https:// URL instead of the system roots. */
  readonly ca?: Buffer | string;
}

export type ReleaseAction = 'promote' | 'rollback' | 'pause' | 'resume';

export interface ReleaseStartBody {
  readonly version: string;
  readonly endpoints?: readonly string[];
  readonly steps?: string;
  readonly analysis?: AnalysisInput;
  /** The API's webhook objects (docs/api.md#webhooks). */
  readonly webhooks?: ReadonlyArray<Readonly<Record<string, unknown>>>;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly reason?: string;
}

type Query = Readonly<Record<string, string | number | undefined>>;

/** Per-call options of the reads a watch makes. */
export interface ReadOptions {
  /** Aborts the request; it then rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
}

/** How long an event stream may stay silent before it counts as dropped: three heartbeats (15 s each). */
const EVENT_STREAM_IDLE_MS = 45_000;

export interface AuditQuery {
  readonly service?: string | undefined;
  readonly actor?: string | undefined;
  readonly action?: string | undefined;
  readonly since?: string | undefined;
  readonly limit?: number | undefined;
}

export interface FeedbackBody {
  readonly score: number;
  readonly userKey?: string;
  readonly version?: string;
}

export interface TernClient {
  readonly url: string;
  listServices(): Promise<ServiceList>;
  getService(name: string): Promise<ServiceView>;
  createService(spec: ServiceSpec): Promise<ServiceView>;
  /** `PATCH`: each field given replaces the old value. */
  updateService(name: string, patch: ServicePatchBody): Promise<ServiceView>;
  deleteService(name: string): Promise<void>;
  startRelease(service: string, body: ReleaseStartBody): Promise<ReleaseView>;
  listReleases(service: string, query?: { readonly limit?: number | undefined }): Promise<ReleaseList>;
  getRelease(id: string, options?: ReadOptions): Promise<ReleaseView>;
  /** Metric windows per version; `since` (epoch ms) keeps only windows starting at or after it. */
  getReleaseMetrics(id: string, options?: ReadOptions & { readonly since?: number | undefined }): Promise<ReleaseMetricsView>;
  getReleaseAnalysis(id: string, options?: ReadOptions): Promise<AnalysisView>;
  /** Audit events about one release, newest first. */
  listReleaseEvents(id: string, options?: ReadOptions): Promise<AuditList>;
  /** The last `lines` lines (server default 100) of each instance a deploy driver started. */
  getReleaseLogs(id: string, lines?: number): Promise<ReleaseLogsView>;
  /**
   * Opens `GET /api/v1/events` (Server-Sent Events) and resolves with the raw body once the
   * server answered 200; `lastEventId` resumes after that event. The body errors when the
   * stream stays silent for 45 s (the server sends a heartbeat every 15 s).
   */
  openEventStream(options: ReadOptions & { readonly lastEventId?: string | undefined }): Promise<AsyncIterable<Uint8Array>>;
  act(id: string, action: ReleaseAction, body: { readonly reason?: string; readonly full?: boolean }): Promise<ReleaseView>;
  setWeight(id: string, weight: number, reason?: string): Promise<ReleaseView>;
  /** What-if replay of the release's stored evidence (`analysis` merged over its own settings). */
  replayRelease(id: string, body: { readonly analysis?: AnalysisInput }): Promise<ReplayJson>;
  listAudit(query: AuditQuery): Promise<AuditList>;
  submitFeedback(service: string, body: FeedbackBody): Promise<FeedbackAcceptedView>;
  /** `GET /api/v1/audit/export`: the JSON-lines export as a byte stream (no overall timeout: exports can be long). */
  openAuditExport(query: { readonly since?: string; readonly until?: string }): Promise<AsyncIterable<Buffer>>;
  createToken(name: string, role: string): Promise<TokenCreated>;
  listTokens(): Promise<TokenList>;
  revokeToken(id: string): Promise<TokenView | undefined>;
  /** Releases sockets; call once when done. */
  close(): Promise<void>;
}

const seg = encodeURIComponent;

/** Creates a client. Never throws; requests throw UnreachableError, ApiError or Error (bad response). */
export function createClient(options: ClientOptions): TernClient {
  const base = options.url.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const agent = new Agent({
    connect: connectOptions(options.ca === undefined ? undefined : { ca: options.ca }, Math.min(timeoutMs, 10_000)),
  });

  const headersFor = (accept: string): Record<string, string> => ({
    accept,
    'user-agent': 'tern-cli',
    ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
  });

  async function call<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<T> {
    const headers = headersFor('application/json');
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await request(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        dispatcher: agent,
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new UnreachableError(base, transportReason(err, timeoutMs), { cause: err });
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new UnreachableError(base, `the connection broke while reading the answer (${transportReason(err, timeoutMs)})`, {
        cause: err,
      });
    }
    if (res.statusCode >= 400) throw toApiError(res.statusCode, text);
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`the server at ${base} answered ${method} ${path} with something that is not JSON: ${snippet(text)}`);
    }
  }

  const query = (q: Query): string => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') params.set(k, String(v));
    const s = params.toString();
    return s ? `?${s}` : '';
  };

  return {
    url: base,
    listServices: () => call('GET', '/api/v1/services'),
    getService: (name) => call('GET', `/api/v1/services/${seg(name)}`),
    createService: (spec) => call('POST', '/api/v1/services', spec),
    updateService: (name, patch) => call('PATCH', `/api/v1/services/${seg(name)}`, patch),
    deleteService: (name) => call('DELETE', `/api/v1/services/${seg(name)}`),
    startRelease: (service, body) => call('POST', `/api/v1/services/${seg(service)}/releases`, body),
    listReleases: (service, q = {}) => call('GET', `/api/v1/services/${seg(service)}/releases${query(q)}`),
    getRelease: (id, o = {}) => call('GET', `/api/v1/releases/${seg(id)}`, undefined, o.signal),
    getReleaseMetrics: (id, o = {}) => call('GET', `/api/v1/releases/${seg(id)}/metrics${query({ since: o.since })}`, undefined, o.signal),
    getReleaseAnalysis: (id, o = {}) => call('GET', `/api/v1/releases/${seg(id)}/analysis`, undefined, o.signal),
    listReleaseEvents: (id, o = {}) => call('GET', `/api/v1/releases/${seg(id)}/events`, undefined, o.signal),
    getReleaseLogs: (id, lines) => call('GET', `/api/v1/releases/${seg(id)}/logs${query({ lines })}`),
    openEventStream: async (o) => {
      const headers = headersFor('text/event-stream');
      if (o.lastEventId !== undefined) headers['last-event-id'] = o.lastEventId;
      let res;
      try {
        res = await request(`${base}/api/v1/events`, {
          headers,
          dispatcher: agent,
          headersTimeout: timeoutMs,
          bodyTimeout: EVENT_STREAM_IDLE_MS,
          ...(o.signal ? { signal: o.signal } : {}),
        });
      } catch (err) {
        if (o.signal?.aborted) throw o.signal.reason;
        throw new UnreachableError(base, transportReason(err, timeoutMs), { cause: err });
      }
      if (res.statusCode !== 200) throw toApiError(res.statusCode, await res.body.text().catch(() => ''));
      return res.body;
    },
    act: (id, action, body) => call('POST', `/api/v1/releases/${seg(id)}/${action}`, body),
    setWeight: (id, weight, reason) =>
      call('PUT', `/api/v1/releases/${seg(id)}/weight`, reason === undefined ? { weight } : { weight, reason }),
    replayRelease: (id, body) => call('POST', `/api/v1/releases/${seg(id)}/replay`, body),
    listAudit: (q) => call('GET', `/api/v1/audit${query({ ...q })}`),
    submitFeedback: (service, body) => call('POST', `/api/v1/services/${seg(service)}/feedback`, body),
    openAuditExport: async (q) => {
      let res;
      try {
        res = await request(`${base}/api/v1/audit/export${query({ ...q })}`, {
          headers: headersFor('application/x-ndjson'),
          dispatcher: agent,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
      } catch (err) {
        throw new UnreachableError(base, transportReason(err, timeoutMs), { cause: err });
      }
      if (res.statusCode !== 200) throw toApiError(res.statusCode, await res.body.text().catch(() => ''));
      return res.body;
    },
    createToken: (name, role) => call('POST', '/api/v1/tokens', { name, role }),
    listTokens: () => call('GET', '/api/v1/tokens'),
    revokeToken: (id) => call('DELETE', `/api/v1/tokens/${seg(id)}`),
    close: () => agent.close(),
  };
}

function toApiError(status: number, text: string): ApiError {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (parsed.error && typeof parsed.error.code === 'string') {
      return new ApiError(status, parsed.error.code, typeof parsed.error.message === 'string' ? parsed.error.message : '(no message)');
    }
  } catch {
    // not Tern's error envelope (a proxy in between, say); fall through
  }
  return new ApiError(status, `HTTP_${status}`, text ? snippet(text) : 'the server gave no details');
}

/** Says which kind of transport failure happened, in words a user can act on. */
function transportReason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string };
  if (
    e.name === 'TimeoutError' ||
    e.code === 'UND_ERR_CONNECT_TIMEOUT' ||
    e.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    e.code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return `timed out after ${timeoutMs / 1000}s`;
  }
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is `tern server` running there? set --url or TERN_URL)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host name not found (DNS: ${e.code})`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the connection was closed by the other side';
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `its TLS certificate is not trusted (${e.code}: ${e.message ?? ''}); pass the CA that signed it with --ca or TERN_CA`;
    case 'EPROTO':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return `TLS failed (${e.code}); is the URL's scheme right (http:// vs https://)?`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `network unreachable (${e.code})`;
    default:
      if (err instanceof undiciErrors.UndiciError || e.code) return `${e.message ?? 'transport error'}${e.code ? ` (${e.code})` : ''}`;
      return e.message ?? String(err);
  }
}

function snippet(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 200 ? `${one.slice(0, 200)}…` : one;
}
