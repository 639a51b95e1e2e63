/**
 * Shared setup for the API tests: an in-memory SQLite store, the bootstrap admin token, one
 * token per role created through the API, and small request helpers over `app.inject()`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Static } from 'typebox';
import { type AppOptions, buildApp } from '../src/api/app.js';
import { ensureAdminToken } from '../src/api/bootstrap.js';
import type { AnalysisResponse, AuditList, FeedbackAccepted, ReleaseMetricsResponse } from '../src/api/schemas/audit.js';
import type { RoutingResponse } from '../src/api/schemas/dataplane.js';
import type { ReleaseList, ReleaseResponse } from '../src/api/schemas/releases.js';
import type { ServiceList, ServiceResponse } from '../src/api/schemas/services.js';
import type { TokenCreated, TokenList } from '../src/api/schemas/tokens.js';
import type { Role } from '../src/core/types.js';
import type { Store } from '../src/store/store.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';

/** Answer shapes, from the schemas the API serializes with. */
export type ServiceJson = Static<typeof ServiceResponse>;
export type ServiceListJson = Static<typeof ServiceList>;
export type ReleaseJson = Static<typeof ReleaseResponse>;
export type ReleaseListJson = Static<typeof ReleaseList>;
export type AuditListJson = Static<typeof AuditList>;
export type MetricsJson = Static<typeof ReleaseMetricsResponse>;
export type AnalysisJson = Static<typeof AnalysisResponse>;
export type FeedbackJson = Static<typeof FeedbackAccepted>;
export type RoutingJson = Static<typeof RoutingResponse>;
export type TokenCreatedJson = Static<typeof TokenCreated>;
export type TokenListJson = Static<typeof TokenList>;
export interface ErrorJson {
  readonly error: { readonly code: string; readonly message: string; readonly details?: { readonly field?: string } };
}

export interface Harness {
  readonly app: FastifyInstance;
  readonly store: Store;
  /** Secrets by role; `admin` is the bootstrap token. */
  readonly tokens: Readonly<Record<Role, string>>;
  call(method: string, url: string, options?: CallOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface CallOptions {
  /** Secret, `null` for no Authorization header; default the admin token. */
  readonly token?: string | null;
  readonly body?: unknown;
  /** Sent as-is (with `contentType`, default application/json) instead of `body`. */
  readonly raw?: string;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
  readonly remoteAddress?: string;
}

export type HarnessOptions = Partial<Omit<AppOptions, 'store'>> & { readonly wrapStore?: (store: Store) => Store };

/** Builds an app over a fresh in-memory store, with one token per role. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tern-api-'));
  const real = await openSqliteStore({ file: ':memory:', ...(options.clock ? { clock: options.clock } : {}) });
  const store = options.wrapStore ? options.wrapStore(real) : real;
  const boot = await ensureAdminToken(store, { dataDir });
  assert.ok(boot.secret);
  const app = await buildApp({ logger: false, ...options, store });
  const call: Harness['call'] = (method, url, o = {}) => {
    const token = o.token === undefined ? boot.secret : o.token;
    const headers: Record<string, string> = { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...o.headers };
    if (o.raw !== undefined || o.body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
    const payload = o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
    return app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(payload === undefined ? {} : { payload }),
      ...(o.remoteAddress ? { remoteAddress: o.remoteAddress } : {}),
    });
  };
  const tokens: Record<Role, string> = { admin: boot.secret, viewer: '', deployer: '', gateway: '', feedback: '' };
  for (const role of ['viewer', 'deployer', 'gateway', 'feedback'] as const) {
    const res = await call('POST', '/api/v1/tokens', { body: { name: `${role}-1`, role } });
    assert.equal(res.statusCode, 201, res.body);
    tokens[role] = res.json<TokenCreatedJson>().secret;
  }
  return {
    app,
    store,
    tokens,
    call,
    close: async () => {
      await app.close();
      await real.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A valid service creation body. */
export function serviceBody(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, match: { pathPrefix: `/${name}` }, stable: { version: 'v1', endpoints: ['http://127.0.0.1:9001'] }, ...overrides };
}

/** Creates a service and starts a release on it; returns the release id. */
export async function serviceWithRelease(h: Harness, name: string, release: Record<string, unknown> = {}): Promise<string> {
  const s = await h.call('POST', '/api/v1/services', { body: serviceBody(name) });
  assert.equal(s.statusCode, 201, s.body);
  const r = await h.call('POST', `/api/v1/services/${name}/releases`, {
    body: { version: 'v2', endpoints: ['http://127.0.0.1:9002'], steps: '5,25,100', ...release },
  });
  assert.equal(r.statusCode, 201, r.body);
  return r.json<ReleaseJson>().id;
}

/** The error envelope's code. */
export function codeOf(res: LightMyRequestResponse): string | undefined {
  try {
    return res.json<Partial<ErrorJson>>().error?.code;
  } catch {
    return undefined;
  }
}
