/**
 * `tern server --data-plane builtin|none` end to end: with `none` the server serves
 * the API and starts no gateway (only external data planes carry traffic); `builtin` is the
 * default; anything else is refused at the door. Real `bin/tern` processes on free ports.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, cleanEnv, killAll, startNode } from './support/processes.js';

const TOKEN = 'tern_e2e-data-plane-admin-token-0123456789';

/** A port nothing listens on now (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The status of GET `url`, or the connect error's code. */
function get(url: string, token?: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(url, { headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

describe('tern server --data-plane', { timeout: 90_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tern-data-plane-'));
  });
  after(async () => {
    await killAll();
    await rm(dir, { recursive: true, force: true });
  });

  const server = (dataDir: string, extra: readonly string[]) =>
    startNode(
      [BIN, 'server', '--data-dir', path.join(dir, dataDir), '--api-port', '0', '--log-level', 'warn', ...extra],
      cleanEnv({ TERN_ADMIN_TOKEN: TOKEN }),
    );

  it('none: serves the API, and no gateway port', async () => {
    const gatewayPort = await freePort();
    const proc = server('none', ['--data-plane', 'none', '--gateway-port', String(gatewayPort)]);
    const [, apiUrl] = await proc.waitFor(/Tern API listening on (\S+)/);
    await proc.waitFor(/No built-in gateway \(--data-plane none\)/);
    await proc.waitFor(/Press Ctrl\+C/);
    assert.equal(await get(`${apiUrl}/healthz`), 200);
    assert.equal(await get(`${apiUrl}/api/v1/services`, TOKEN), 200, 'the API answers');
    assert.equal(await get(`${apiUrl}/api/v1/dataplane/routing`, TOKEN), 200, 'external data planes can watch the table');
    assert.equal(await get(`http://127.0.0.1:${gatewayPort}/`), 'ECONNREFUSED', 'nothing listens on --gateway-port');
    assert.doesNotMatch(proc.output(), /Tern gateway listening/);
    assert.ok(!(await readdir(path.join(dir, 'none'))).includes('gateway-table.json'), 'no gateway state file');
    assert.equal(await proc.kill('SIGTERM'), 0, 'stops cleanly');
  });

  it('builtin is the default: the gateway listens on --gateway-port', async () => {
    const gatewayPort = await freePort();
    const proc = server('default', ['--gateway-port', String(gatewayPort)]);
    await proc.waitFor(/Tern API listening on (\S+)/);
    const [, gatewayUrl] = await proc.waitFor(/Tern gateway listening on (\S+)/);
    assert.equal(gatewayUrl, `http://127.0.0.1:${gatewayPort}`);
    assert.equal(typeof (await get(`${gatewayUrl}/`)), 'number', 'the gateway answers HTTP');
    assert.equal(await proc.kill('SIGTERM'), 0, 'stops cleanly');
  });

  it('refuses another kind, naming the choices', async () => {
    const proc = server('bad', ['--data-plane', 'envoy']);
    let stderr = '';
    proc.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.child.once('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(stderr, /--data-plane/);
    assert.match(stderr, /builtin, none/);
  });
});
