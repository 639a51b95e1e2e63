/**
 * Shared setup for the dashboard's end-to-end tests: a real `tern server` child process from
 * the built CLI (`node bin/tern server`, run `npm run build` first: it builds dist/web too), a
 * small API client, simulated gateway metric windows, and Debian's Chromium driven by
 * playwright-core with a fresh profile (never a downloaded browser).
 *
 * In CI (CI set) the tests must run: a missing /usr/bin/chromium fails them. Locally they are
 * skipped when Chromium is absent.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page, chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

/** Why the dashboard tests cannot run here, or false when they can (never skipped in CI). */
export function skipReason(): string | false {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI) return false; // CI must run them: the launch then fails loudly
  return `${CHROMIUM} is absent (apt-get install -y chromium); the dashboard tests run in CI`;
}

/** The flags Chromium needs on this machine: headless as root, no network of its own. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ServerHandle {
  readonly url: string;
  /** The built-in gateway's URL, when the server runs one. */
  readonly gatewayUrl: string | null;
  readonly adminToken: string;
  readonly dataDir: string;
  readonly logs: () => string;
  stop(): Promise<void>;
}

/** Environment without the caller's TERN_* settings, so the test is hermetic. */
function cleanEnv(): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TERN_'))), NO_COLOR: '1' };
}

/** Starts `node bin/tern server` on a free port in a fresh data directory; `args` are added (e.g. --tls-cert). */
export async function startServer(options: { readonly args?: readonly string[] } = {}): Promise<ServerHandle> {
  for (const built of ['dist/cli/main.js', 'dist/web/index.html']) {
    assert.ok(existsSync(path.join(ROOT, built)), `${built} is missing: run \`npm run build\` first`);
  }
  const work = await mkdtemp(path.join(tmpdir(), 'tern-dashboard-'));
  const dataDir = path.join(work, 'data');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin', 'tern'),
      'server',
      '--data-dir',
      dataDir,
      '--api-port',
      '0',
      '--gateway-port',
      '0',
      '--log-level',
      'warn',
      ...(options.args ?? []),
    ],
    { cwd: work, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (err += c));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 20s\n${out}\n${err}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`server exited early with ${code}\n${out}\n${err}`)));
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const m = /^Tern API listening on (https?:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
      if (m?.[1] && out.includes('Press Ctrl+C')) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  const adminToken = (await readFile(path.join(dataDir, 'admin.token'), 'utf8')).trim();
  return {
    url,
    gatewayUrl: /^Tern gateway listening on (https?:\/\/\S+)/m.exec(out)?.[1] ?? null,
    adminToken,
    dataDir,
    logs: () => `stdout:\n${out}\nstderr:\n${err}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(work, { recursive: true, force: true });
    },
  };
}

export interface ApiAnswer<T> {
  readonly status: number;
  readonly body: T;
}

/** Calls the API over a real socket. */
export async function api<T = Record<string, unknown>>(
  server: ServerHandle,
  method: string,
  url: string,
  options: { token?: string; body?: unknown } = {},
): Promise<ApiAnswer<T>> {
  const res = await fetch(server.url + url, {
    method,
    headers: {
      authorization: `Bearer ${options.token ?? server.adminToken}`,
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Like `api`, asserting the status. */
export async function must<T = Record<string, unknown>>(
  server: ServerHandle,
  method: string,
  url: string,
  status: number,
  options: { token?: string; body?: unknown } = {},
): Promise<T> {
  const res = await api<T>(server, method, url, options);
  assert.equal(res.status, status, `${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Creates a token with `role` and returns its secret and id. */
export async function createToken(server: ServerHandle, name: string, role: string): Promise<{ secret: string; id: string }> {
  const t = await must<{ secret: string; id: string }>(server, 'POST', '/api/v1/tokens', 201, { body: { name, role } });
  return { secret: t.secret, id: t.id };
}

/** Latency histogram bucket of the server's DDSketch (relative error 1%). */
function bucketOf(ms: number): number {
  const gamma = 1.01 / 0.99;
  return Math.ceil(Math.log(ms) / Math.log(gamma));
}

export interface WindowSpec {
  readonly version: string;
  readonly requests: number;
  readonly errors: number;
  /** Latencies in ms and how many requests took each. */
  readonly latency: readonly (readonly [ms: number, count: number])[];
}

/** Pushes one per-second metric window per spec, as a gateway does (`POST /api/v1/dataplane/metrics`). */
export async function pushWindows(
  server: ServerHandle,
  gatewayToken: string,
  releaseId: string,
  windowStart: number,
  specs: readonly WindowSpec[],
): Promise<void> {
  const windows = specs.map((s) => {
    const latency: Record<string, number> = {};
    for (const [ms, count] of s.latency) latency[String(bucketOf(ms))] = (latency[String(bucketOf(ms))] ?? 0) + count;
    return { releaseId, version: s.version, windowStart, windowMs: 1000, requests: s.requests, errors: s.errors, latency };
  });
  await must(server, 'POST', '/api/v1/dataplane/metrics', 202, { token: gatewayToken, body: { gateway: 'test-gateway', windows } });
}

export interface BrowserHandle {
  readonly context: BrowserContext;
  /** A new tab: its own sessionStorage, so its own sign-in. Page errors are collected. */
  newPage(): Promise<Page>;
  readonly pageErrors: string[];
  close(): Promise<void>;
}

/**
 * Launches Debian's Chromium with a fresh profile directory; `args` are added to its flags;
 * `timezoneId` (e.g. Asia/Kolkata) is the zone the pages see as local (default the machine's).
 */
export async function launchBrowser(args: readonly string[] = [], options: { readonly timezoneId?: string } = {}): Promise<BrowserHandle> {
  const profile = await mkdtemp(path.join(tmpdir(), 'tern-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
    viewport: { width: 1280, height: 900 },
    timeout: 60_000,
    ...(options.timezoneId === undefined ? {} : { timezoneId: options.timezoneId }),
  });
  context.setDefaultTimeout(15_000);
  const pageErrors: string[] = [];
  return {
    context,
    pageErrors,
    async newPage() {
      const page = await context.newPage();
      page.on('pageerror', (e) => pageErrors.push(e.message));
      page.on('console', (m) => {
        // A 401/403 the test provokes on purpose shows as a failed resource load; real errors are exceptions.
        if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(m.text());
      });
      return page;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot under test-artifacts/. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Signs in through the form. */
export async function signIn(page: Page, server: ServerHandle, token: string): Promise<void> {
  await page.goto(server.url + '/');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Polls `check` until it returns a value (not undefined/false) or `ms` pass. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

/** A tiny HTTP backend answering with its version label, counting requests. */
export async function startBackend(version: string): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`${version}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
