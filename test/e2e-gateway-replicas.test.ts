/**
 * Several data-plane replicas, as real processes: `tern server`'s built-in gateway and a
 * separate `tern gateway --workers 2` (two processes sharing one port) route every user to
 * the same version at a 50% split, and keep doing so after the weight rises.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { BIN, cleanEnv, killAll, startNode, startTernServer, startVersionApp, type TernServer } from './support/processes.js';

async function versionsOf(url: string, users: readonly string[]): Promise<string[]> {
  const pool = new Pool(url, { connections: 8 });
  try {
    return await Promise.all(
      users.map(async (u) => (await (await pool.request({ method: 'GET', path: '/', headers: { 'x-user-id': u } })).body.text()).trim()),
    );
  } finally {
    await pool.close();
  }
}

describe('gateway replicas agree user by user', { timeout: 90_000 }, () => {
  let dataDir: string;
  let server: TernServer;
  const api = async (method: string, url: string, body?: unknown): Promise<{ id?: string; secret?: string; version?: number }> => {
    const res = await fetch(`${server.apiUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    assert.ok(res.status < 300, `${method} ${url}: ${res.status}`);
    return (await res.json()) as { id?: string; secret?: string };
  };

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'tern-replicas-'));
    server = await startTernServer(dataDir);
  });
  after(async () => {
    await killAll();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('routes 1,000 users identically through the built-in gateway and a 2-worker tern gateway', async () => {
    const [v1, v2] = await Promise.all([startVersionApp('v1'), startVersionApp('v2')]);
    await api('POST', '/api/v1/services', {
      name: 'shop',
      match: { pathPrefix: '/' },
      stickiness: { header: 'x-user-id' },
      stable: { version: 'v1', endpoints: [v1.url] },
    });
    const release = await api('POST', '/api/v1/services/shop/releases', {
      version: 'v2',
      endpoints: [v2.url],
      steps: [{ weight: 50, hold: '1h', analysis: false }, { weight: 100 }],
    });
    const token = (await api('POST', '/api/v1/tokens', { name: 'edge', role: 'gateway' })).secret!;
    // --port 0: the primary prints the port its workers really share.
    const edge = startNode(
      [
        BIN,
        'gateway',
        '--control-plane',
        server.apiUrl,
        '--port',
        '0',
        '--workers',
        '2',
        '--state-file',
        path.join(dataDir, 'edge.json'),
        '--log-level',
        'warn',
      ],
      cleanEnv({ TERN_TOKEN: token }),
    );
    const edgeUrl = (await edge.waitFor(/^Tern gateway listening on (http:\/\/127\.0\.0\.1:[1-9]\d*) with 2 workers/m))[1]!;
    const users = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
    let viaEdge: string[] = [];
    for (let i = 0; i < 40 && new Set(viaEdge).size < 2; i++, await sleep(250)) viaEdge = await versionsOf(edgeUrl, users).catch(() => []);
    const viaBuiltIn = await versionsOf(server.gatewayUrl, users);
    assert.deepEqual(viaEdge, viaBuiltIn, 'every user gets the same version from both replicas');
    const share = viaBuiltIn.filter((v) => v === 'v2').length / users.length;
    assert.ok(share > 0.45 && share < 0.55, `canary share ${share} at 50%`);

    await api('PUT', `/api/v1/releases/${release.id}/weight`, { weight: 80 });
    await sleep(1000);
    const [edgeAfter, builtInAfter] = await Promise.all([versionsOf(edgeUrl, users), versionsOf(server.gatewayUrl, users)]);
    assert.deepEqual(edgeAfter, builtInAfter);
    assert.ok(
      users.every((_, i) => viaBuiltIn[i] !== 'v2' || builtInAfter[i] === 'v2'),
      'raising the weight moved no canary user back',
    );
    await edge.kill('SIGTERM');
  });
});
