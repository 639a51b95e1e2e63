/**
 * Helpers for tests that drive a real NGINX through NginxRouter: version backends, a temp state
 * dir, a route builder, and an xxh32 reference written from the spec (Collet's XXH32), kept
 * independent of the njs implementation it checks.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { RouteEntry } from '../../src/core/types.js';
import { NginxRouter } from '../../src/providers/routers/nginx/nginx-router.js';
import { freePort } from './monitoring.js';

export const SALT = 'abcdefghijklmnopqrstuv';

const P1 = 2654435761n;
const P2 = 2246822519n;
const P3 = 3266489917n;
const P4 = 668265263n;
const P5 = 374761393n;
const M = 0xffffffffn;
const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (32n - r))) & M;

/** XXH32 of `data` with seed 0, straight from the specification (BigInt, slow and obvious). */
export function xxh32Reference(data: Uint8Array): number {
  const len = data.length;
  const u32 = (i: number): bigint => BigInt(data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16)) | (BigInt(data[i + 3]!) << 24n);
  const round = (acc: bigint, input: bigint): bigint => (rotl((acc + input * P2) & M, 13n) * P1) & M;
  let i = 0;
  let h: bigint;
  if (len >= 16) {
    let v = [(P1 + P2) & M, P2, 0n, (0n - P1) & M];
    for (; i + 16 <= len; i += 16) v = v.map((acc, lane) => round(acc, u32(i + lane * 4)));
    h = (rotl(v[0]!, 1n) + rotl(v[1]!, 7n) + rotl(v[2]!, 12n) + rotl(v[3]!, 18n)) & M;
  } else {
    h = P5;
  }
  h = (h + BigInt(len)) & M;
  for (; i + 4 <= len; i += 4) h = (rotl((h + u32(i) * P3) & M, 17n) * P4) & M;
  for (; i < len; i++) h = (rotl((h + BigInt(data[i]!) * P5) & M, 11n) * P1) & M;
  h ^= h >> 15n;
  h = (h * P2) & M;
  h ^= h >> 13n;
  h = (h * P3) & M;
  h ^= h >> 16n;
  return Number(h);
}

/** The issue-12 bucket: xxh32(UTF-8(salt ‖ key)) mod 10000. */
export function bucketReference(salt: string, key: string): number {
  return xxh32Reference(Buffer.from(salt + key, 'utf8')) % 10_000;
}

/** A header value carrying `text`'s UTF-8 bytes on the wire (HTTP field values are bytes). */
export function utf8Header(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** An HTTP server answering its `label` (and `error from <label>` with 500 when asked to fail). */
export async function startBackend(label: string): Promise<{ url: string; server: Server; failNext: { on: boolean } }> {
  const failNext = { on: false };
  const server = createServer((req, res) => {
    req.resume();
    if (failNext.on) {
      res.writeHead(500).end(`error from ${label}`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(label);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, failNext };
}

export function route(
  service: string,
  stable: string,
  canary: { url: string; weight: number; rules?: RouteEntry['rules']; salt?: string; version?: string; releaseId?: string } | null,
  pathPrefix = '/',
): RouteEntry {
  return {
    service,
    match: { pathPrefix },
    stickiness: { header: 'x-user-id', cookie: 'tern_uid' },
    rules: canary?.rules ?? [],
    stable: { version: 'v1', endpoints: [stable] },
    canary:
      canary === null
        ? null
        : {
            version: canary.version ?? 'v2',
            endpoints: [canary.url],
            weight: canary.weight,
            salt: canary.salt ?? SALT,
            releaseId: canary.releaseId ?? 'rel-1',
          },
  };
}

/** A fresh state dir and a listen address on a free port. */
export async function nginxPlace(): Promise<{ stateDir: string; listen: string; url: string }> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'tern-nginx-'));
  const port = await freePort();
  return { stateDir, listen: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` };
}

export function openRouter(
  place: { stateDir: string; listen: string },
  extra: { evidence?: boolean; exposeVersionHeader?: boolean } = {},
): Promise<NginxRouter> {
  return NginxRouter.open({ ...place, logger: pino({ level: 'silent' }), ...extra });
}

/** p-quantile of `values` (nearest rank). */
export function quantileOf(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN;
}
