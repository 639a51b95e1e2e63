/**
 * TLS end to end, as real processes with certificates openssl makes: `tern server` serves its API
 * (HSTS included) and its built-in gateway over HTTPS, the CLI reaches it with `--ca`, a separate
 * `tern gateway` syncs its routing table from the HTTPS control plane with `--control-plane-ca`
 * and serves HTTPS itself, SIGHUP swaps in a new certificate without dropping an open connection
 * (and without ending the process), and bad certificate files fail the start with one line.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { type CertFiles, issueCert, makeCa } from './fixtures/certs.js';
import { BIN, cleanEnv, killAll, startNode, type Proc } from './support/processes.js';

const run = promisify(execFile);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

describe('TLS end to end', { timeout: 120_000 }, () => {
  let work: string;
  let ca: CertFiles;
  let certA: CertFiles;
  let certB: CertFiles;
  let live: { certFile: string; keyFile: string };
  let server: Proc;
  let apiUrl: string;
  let gatewayUrl: string;
  let adminToken: string;
  let backend: Server;
  let agent: Agent;

  /** An HTTPS call trusting the test CA only. */
  const call = async (
    url: string,
    init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Answer> => {
    const res = await request(url, {
      dispatcher: agent,
      method: (init.method ?? 'GET') as 'GET',
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.body === undefined ? null : JSON.stringify(init.body),
    });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  };

  /** A TLS connection trusting the test CA, after its handshake. */
  const open = (url: string): Promise<TLSSocket> =>
    new Promise((resolve, reject) => {
      const { hostname, port } = new URL(url);
      const socket = connect({ host: hostname, port: Number(port), ca: ca.pem }, () => resolve(socket));
      socket.once('error', reject);
    });

  /** One keep-alive request on `socket`; resolves with the status line. */
  const ask = (socket: TLSSocket, target: string): Promise<string> =>
    new Promise((resolve, reject) => {
      let text = '';
      const onData = (chunk: Buffer): void => {
        text += chunk.toString();
        const end = text.indexOf('\r\n\r\n');
        const length = /content-length: (\d+)/i.exec(text)?.[1];
        if (end >= 0 && length !== undefined && text.length >= end + 4 + Number(length)) {
          socket.off('data', onData);
          resolve(text.split('\r\n')[0]!);
        }
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.write(`GET ${target} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`);
    });

  const tern = async (args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: cleanEnv(env), cwd: work, timeout: 30_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'tern-e2e-tls-'));
    ca = await makeCa(work);
    certA = await issueCert(work, ca, 'a');
    certB = await issueCert(work, ca, 'b');
    live = { certFile: path.join(work, 'live.pem'), keyFile: path.join(work, 'live.key') };
    await copyFile(certA.certFile, live.certFile);
    await copyFile(certA.keyFile, live.keyFile);
    agent = new Agent({ connect: { ca: ca.pem } });
    // A backend that tells which scheme the gateway said the user came with.
    backend = createServer((req, res) => res.end(`v1 proto=${String(req.headers['x-forwarded-proto'])}\n`));
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));

    server = startNode(
      [
        BIN,
        'server',
        '--data-dir',
        path.join(work, 'data'),
        '--api-port',
        '0',
        '--gateway-port',
        '0',
        '--log-level',
        'info',
        '--tls-key',
        live.keyFile,
      ],
      cleanEnv({ TERN_ADMIN_TOKEN: 'tern_admin_e2e_tls_0123456789', TERN_TLS_CERT: live.certFile }),
    );
    apiUrl = (await server.waitFor(/Tern API listening on (\S+)/))[1]!;
    gatewayUrl = (await server.waitFor(/Tern gateway listening on (\S+)/))[1]!;
    adminToken = 'tern_admin_e2e_tls_0123456789';
  });

  after(async () => {
    await killAll();
    await agent?.close();
    backend?.closeAllConnections();
    await new Promise((resolve) => backend?.close(resolve));
    await rm(work, { recursive: true, force: true });
  });

  it('tern server answers over HTTPS (with HSTS) and not over plain HTTP', async () => {
    assert.match(apiUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(gatewayUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await call(`${apiUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.headers['strict-transport-security'], 'max-age=31536000');
    const denied = await call(`${apiUrl}/api/v1/services`);
    assert.equal(denied.status, 401);
    assert.equal(denied.headers['strict-transport-security'], 'max-age=31536000', 'errors carry HSTS too');
    await assert.rejects(fetch(apiUrl.replace('https:', 'http:') + '/healthz'), 'plain HTTP on the TLS port gets no answer');
    await assert.rejects(request(`${apiUrl}/healthz`), /self-signed|unable to (verify|get)/i, 'the system roots do not know the test CA');
  });

  it('the CLI reaches it with --ca (or TERN_CA), and says what to do without', async () => {
    const ok = await tern(['service', 'list', '--url', apiUrl, '--token', adminToken, '--ca', ca.certFile, '-o', 'json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { services: [] });
    const viaEnv = await tern(['service', 'list', '--url', apiUrl, '--token', adminToken], { TERN_CA: ca.certFile });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    const untrusted = await tern(['service', 'list', '--url', apiUrl, '--token', adminToken]);
    assert.equal(untrusted.code, 3, untrusted.stderr);
    assert.match(untrusted.stderr, /TLS certificate is not trusted .*--ca/);
    const missing = await tern(['service', 'list', '--url', apiUrl, '--ca', path.join(work, 'nope.pem')]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), `error: --ca: ${path.join(work, 'nope.pem')}: cannot read it (no such file)`);
  });

  it('the built-in gateway syncs over HTTPS and a tern gateway syncs with --control-plane-ca, both serving HTTPS', async () => {
    const { port } = backend.address() as AddressInfo;
    const created = await call(`${apiUrl}/api/v1/services`, {
      method: 'POST',
      token: adminToken,
      body: { name: 'shop', match: { pathPrefix: '/' }, stable: { version: 'v1', endpoints: [`http://127.0.0.1:${port}`] } },
    });
    assert.equal(created.status, 201, created.text);
    const routed = async (url: string): Promise<string> => {
      for (let i = 0; i < 100; i++) {
        const res = await call(`${url}/anything`).catch(() => null);
        if (res?.status === 200) return res.text.trim();
        await sleep(100);
      }
      throw new Error(`${url} never routed the new service`);
    };
    assert.equal(
      await routed(gatewayUrl),
      'v1 proto=https',
      'the built-in gateway took the table over HTTPS and forwards X-Forwarded-Proto https',
    );

    const token = JSON.parse(
      (await call(`${apiUrl}/api/v1/tokens`, { method: 'POST', token: adminToken, body: { name: 'edge', role: 'gateway' } })).text,
    ) as {
      secret: string;
    };
    const edge = startNode(
      [
        BIN,
        'gateway',
        '--control-plane',
        apiUrl,
        '--control-plane-ca',
        ca.certFile,
        '--port',
        '0',
        '--state-file',
        path.join(work, 'edge.json'),
        '--tls-cert',
        certB.certFile,
        '--tls-key',
        certB.keyFile,
        '--log-level',
        'warn',
      ],
      cleanEnv({ TERN_TOKEN: token.secret }),
    );
    const edgeUrl = (await edge.waitFor(/Tern gateway listening on (\S+)/))[1]!;
    assert.match(edgeUrl, /^https:/);
    assert.equal(await routed(edgeUrl), 'v1 proto=https', 'tern gateway synced its table from the HTTPS control plane');
    const socket = await open(edgeUrl);
    assert.equal(socket.getPeerCertificate().fingerprint256, certB.fingerprint256);
    socket.destroy();

    // Without the CA the same gateway cannot trust the control plane: it gets no table.
    const blind = startNode(
      [BIN, 'gateway', '--control-plane', apiUrl, '--port', '0', '--state-file', path.join(work, 'blind.json'), '--log-level', 'warn'],
      cleanEnv({ TERN_TOKEN: token.secret }),
    );
    const blindUrl = (await blind.waitFor(/Tern gateway listening on (\S+)/))[1]!;
    const res = await fetch(`${blindUrl}/anything`);
    assert.notEqual(res.status, 200);
    await blind.kill();
    await edge.kill();
  });

  it('SIGHUP serves a new certificate to new connections; an open connection still answers; the process stays', async () => {
    const old = await open(apiUrl);
    assert.equal(old.getPeerCertificate().fingerprint256, certA.fingerprint256);
    assert.equal(await ask(old, '/healthz'), 'HTTP/1.1 200 OK');

    await copyFile(certB.certFile, live.certFile);
    await copyFile(certB.keyFile, live.keyFile);
    server.child.kill('SIGHUP');
    let seen = '';
    for (let i = 0; i < 50 && seen !== certB.fingerprint256; i++) {
      await sleep(100);
      const s = await open(apiUrl);
      seen = s.getPeerCertificate().fingerprint256;
      s.destroy();
    }
    assert.equal(seen, certB.fingerprint256, 'a new handshake gets certificate B');
    const gw = await open(gatewayUrl);
    assert.equal(gw.getPeerCertificate().fingerprint256, certB.fingerprint256, 'the built-in gateway reloaded too');
    gw.destroy();
    assert.equal(await ask(old, '/healthz'), 'HTTP/1.1 200 OK', 'the connection opened before SIGHUP still answers');
    assert.equal(server.child.exitCode, null, 'SIGHUP did not end the process');
    // The built-in gateway, which pins the served certificate, still follows the API after the swap.
    const status = await call(`${apiUrl}/api/v1/services/shop`, { method: 'DELETE', token: adminToken });
    assert.ok(status.status < 300, status.text);
    let gone = 0;
    for (let i = 0; i < 100 && gone !== 404; i++) {
      await sleep(100);
      gone = (await call(`${gatewayUrl}/anything`)).status;
    }
    assert.equal(gone, 404, 'the built-in gateway took the table without the deleted service');

    // A bad file on the next SIGHUP keeps the current certificate.
    await writeFile(live.keyFile, 'not a key');
    server.child.kill('SIGHUP');
    await sleep(500);
    const after = await open(apiUrl);
    assert.equal(after.getPeerCertificate().fingerprint256, certB.fingerprint256);
    after.destroy();
    old.destroy();
    assert.equal(server.child.exitCode, null);
  });

  it('tern gateway --workers 2: SIGHUP to the primary reaches every worker', async () => {
    const edgeLive = { certFile: path.join(work, 'edge-live.pem'), keyFile: path.join(work, 'edge-live.key') };
    await copyFile(certA.certFile, edgeLive.certFile);
    await copyFile(certA.keyFile, edgeLive.keyFile);
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address() as AddressInfo;
        probe.close(() => resolve(p));
      });
    });
    const fleet = startNode(
      [
        BIN,
        'gateway',
        '--control-plane',
        apiUrl,
        '--control-plane-ca',
        ca.certFile,
        '--port',
        String(port),
        '--workers',
        '2',
        '--state-file',
        path.join(work, 'fleet.json'),
        '--tls-cert',
        edgeLive.certFile,
        '--tls-key',
        edgeLive.keyFile,
        '--log-level',
        'warn',
      ],
      cleanEnv({ TERN_TOKEN: 'unused-here' }),
    );
    await fleet.waitFor(/listening on https:\/\/127\.0\.0\.1:\d+ with 2 workers/);
    const url = `https://127.0.0.1:${port}`;
    /** Fingerprints seen over several new connections (the primary spreads them over the workers). */
    const seen = async (): Promise<Set<string>> => {
      const out = new Set<string>();
      for (let i = 0; i < 8; i++) {
        const s = await open(url).catch(() => null);
        if (s) out.add(s.getPeerCertificate().fingerprint256);
        s?.destroy();
      }
      return out;
    };
    let before = new Set<string>();
    for (let i = 0; i < 50 && !before.has(certA.fingerprint256); i++) {
      await sleep(100);
      before = await seen();
    }
    assert.deepEqual([...before], [certA.fingerprint256]);
    await copyFile(certB.certFile, edgeLive.certFile);
    await copyFile(certB.keyFile, edgeLive.keyFile);
    fleet.child.kill('SIGHUP');
    let now = new Set<string>();
    for (let i = 0; i < 50 && !(now.size === 1 && now.has(certB.fingerprint256)); i++) {
      await sleep(100);
      now = await seen();
    }
    assert.deepEqual([...now], [certB.fingerprint256], 'every worker serves certificate B');
    assert.equal(fleet.child.exitCode, null, 'the primary is still running');
    await fleet.kill();
  });

  it('bad certificate files fail the start with one line naming the file', async () => {
    const garbage = path.join(work, 'garbage.pem');
    await writeFile(garbage, 'hello\n');
    const bad = ['--data-dir', path.join(work, 'bad'), '--api-port', '0', '--gateway-port', '0'];
    const edge = ['--token', 't', '--port', '0', '--state-file', path.join(work, 'bad.json')];
    const cases: [string[], RegExp][] = [
      [
        ['server', ...bad, '--tls-cert', garbage, '--tls-key', certA.keyFile],
        new RegExp(`^error: --tls-cert: ${garbage}: not a PEM certificate`),
      ],
      [
        ['server', ...bad, '--tls-cert', certA.certFile, '--tls-key', certB.keyFile],
        new RegExp(`^error: --tls-key: ${certB.keyFile}: this key does not belong`),
      ],
      [
        ['gateway', ...edge, '--tls-cert', path.join(work, 'nope.pem'), '--tls-key', certA.keyFile],
        /^error: --tls-cert: .*nope\.pem: cannot read it \(no such file\)$/,
      ],
      [['gateway', ...edge, '--control-plane-ca', garbage], new RegExp(`^error: --control-plane-ca: ${garbage}: not a PEM certificate`)],
    ];
    for (const [args, line] of cases) {
      const res = await tern(args);
      assert.equal(res.code, 1, `${args.join(' ')}: ${res.stderr}`);
      assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
      assert.match(res.stderr.trim(), line);
    }
    const half = await tern(['server', '--tls-cert', certA.certFile, '--data-dir', path.join(work, 'bad')]);
    assert.equal(half.code, 2);
    assert.match(half.stderr, /--tls-cert and --tls-key go together/);
  });
});
