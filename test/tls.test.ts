/**
 * TLS mechanics (src/net/tls.ts) over real sockets, with certificates openssl makes: bad files
 * fail with the file named, a reload serves the new certificate to new handshakes while an open
 * keep-alive connection keeps answering, a failed reload keeps the old one, and the control-plane
 * client trusts a custom CA or a pinned certificate and nothing else.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { Agent, request } from 'undici';
import { ServingTls, TlsFileError, connectOptions, createHttpServer, readCaFile, readTlsFiles } from '../src/net/tls.js';
import { startHarness } from './api-harness.js';
import { type CertFiles, issueCert, makeCa } from './fixtures/certs.js';

let dir: string;
let ca: CertFiles;
let certA: CertFiles;
let certB: CertFiles;
let otherCa: CertFiles;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tern-tls-'));
  ca = await makeCa(dir);
  otherCa = await makeCa(dir, 'other');
  certA = await issueCert(dir, ca, 'a');
  certB = await issueCert(dir, ca, 'b');
});
after(() => rm(dir, { recursive: true, force: true }));

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A TLS connection trusting the test CA, resolved after the handshake. */
function open(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: ca.pem, servername: 'localhost' }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** One keep-alive GET on `socket`; resolves with the body. */
function get(socket: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      const end = text.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(text)?.[1];
      if (end >= 0 && length !== undefined && text.length >= end + 4 + Number(length)) {
        socket.off('data', onData);
        resolve(text.slice(end + 4));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write('GET / HTTP/1.1\r\nhost: localhost\r\n\r\n');
  });
}

describe('certificate files', () => {
  it('reads a good pair and reports its fingerprint', async () => {
    const m = await readTlsFiles({ certFile: certA.certFile, keyFile: certA.keyFile });
    assert.equal(m.fingerprint256, certA.fingerprint256);
    assert.match(m.subject, /CN=a/);
  });

  it('names the file at fault: missing, not PEM, a key of another certificate, an encrypted key', async () => {
    const garbage = path.join(dir, 'garbage.pem');
    await writeFile(garbage, 'not a certificate\n');
    const encrypted = path.join(dir, 'encrypted.key');
    const { execFileSync } = await import('node:child_process');
    execFileSync('openssl', ['pkey', '-in', certA.keyFile, '-aes256', '-passout', 'pass:secret', '-out', encrypted]);
    const cases: [files: { certFile: string; keyFile: string }, file: string, reason: RegExp][] = [
      [{ certFile: path.join(dir, 'nope.pem'), keyFile: certA.keyFile }, path.join(dir, 'nope.pem'), /no such file/],
      [{ certFile: garbage, keyFile: certA.keyFile }, garbage, /not a PEM certificate/],
      [{ certFile: certA.certFile, keyFile: garbage }, garbage, /not a PEM private key/],
      [{ certFile: certA.certFile, keyFile: certB.keyFile }, certB.keyFile, /does not belong to the certificate/],
      [{ certFile: certA.certFile, keyFile: encrypted }, encrypted, /encrypted/],
    ];
    for (const [files, file, reason] of cases) {
      await assert.rejects(readTlsFiles(files), (err: unknown) => {
        assert.ok(err instanceof TlsFileError, String(err));
        assert.equal(err.file, file);
        assert.ok(err.message.includes(file), err.message);
        assert.match(err.message, reason);
        assert.doesNotMatch(err.message, /\n/);
        return true;
      });
    }
    assert.throws(() => readCaFile(garbage), /garbage\.pem: not a PEM certificate/);
    assert.equal(readCaFile(ca.certFile).toString(), ca.pem);
  });
});

describe('reload', () => {
  it('serves the new certificate to new handshakes; an open keep-alive connection keeps answering', async () => {
    const certFile = path.join(dir, 'live.pem');
    const keyFile = path.join(dir, 'live.key');
    await copyFile(certA.certFile, certFile);
    await copyFile(certA.keyFile, keyFile);
    const tls = await ServingTls.load({ certFile, keyFile });
    const server = createHttpServer(tls, { keepAliveTimeout: 30_000 }, (_req, res) => res.end('ok'));
    const port = await listen(server);
    try {
      const old = await open(port);
      assert.equal(old.getPeerCertificate().fingerprint256, certA.fingerprint256);
      assert.equal(await get(old), 'ok');

      await copyFile(certB.certFile, certFile);
      await copyFile(certB.keyFile, keyFile);
      const m = await tls.reload();
      assert.equal(m.fingerprint256, certB.fingerprint256);

      const fresh = await open(port);
      assert.equal(fresh.getPeerCertificate().fingerprint256, certB.fingerprint256, 'a new handshake gets certificate B');
      assert.equal(await get(fresh), 'ok');
      assert.equal(await get(old), 'ok', 'the connection opened before the reload still answers');
      assert.equal(old.getPeerCertificate().fingerprint256, certA.fingerprint256);
      fresh.destroy();

      // A bad file on the next reload changes nothing.
      await writeFile(keyFile, 'oops');
      await assert.rejects(tls.reload(), TlsFileError);
      assert.equal(tls.material.fingerprint256, certB.fingerprint256);
      const after = await open(port);
      assert.equal(after.getPeerCertificate().fingerprint256, certB.fingerprint256);
      after.destroy();
      old.destroy();
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('client trust', () => {
  it('a custom CA is trusted alone; a pinned certificate is accepted by fingerprint, any other refused', async () => {
    const tls = await ServingTls.load({ certFile: certA.certFile, keyFile: certA.keyFile });
    const server = createHttpServer(tls, {}, (_req, res) => res.end('ok'));
    const port = await listen(server);
    const url = `https://127.0.0.1:${port}/`;
    const call = async (connect: ReturnType<typeof connectOptions>): Promise<string> => {
      const agent = new Agent({ connect });
      try {
        return await (await request(url, { dispatcher: agent })).body.text();
      } finally {
        await agent.close();
      }
    };
    try {
      assert.equal(await call(connectOptions({ ca: ca.pem }, 2_000)), 'ok');
      await assert.rejects(call(connectOptions({ ca: otherCa.pem }, 2_000)), /self-signed|unable to (verify|get)/i);
      await assert.rejects(call(connectOptions(undefined, 2_000)), /self-signed|unable to (verify|get)/i);
      assert.equal(await call(connectOptions({ pinned: () => [certA.fingerprint256] }, 2_000)), 'ok');
      await assert.rejects(call(connectOptions({ pinned: () => [certB.fingerprint256] }, 2_000)), /not the one this process serves/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('HSTS', () => {
  it('the API sends Strict-Transport-Security over TLS, never over plain HTTP', async () => {
    const plain = await startHarness();
    const secure = await startHarness({ tls: await ServingTls.load({ certFile: certA.certFile, keyFile: certA.keyFile }) });
    const agent = new Agent({ connect: { ca: ca.pem } });
    try {
      const plainUrl = await plain.app.listen({ host: '127.0.0.1', port: 0 });
      const secureUrl = await secure.app.listen({ host: '127.0.0.1', port: 0 });
      assert.match(secureUrl, /^https:/);
      const overHttp = await request(`${plainUrl}/healthz`);
      await overHttp.body.dump();
      assert.equal(overHttp.statusCode, 200);
      assert.equal(overHttp.headers['strict-transport-security'], undefined);
      for (const target of ['/healthz', '/api/v1/services', '/no/such/route']) {
        const res = await request(`${secureUrl}${target}`, { dispatcher: agent });
        await res.body.dump();
        assert.equal(res.headers['strict-transport-security'], 'max-age=31536000', `${target} (${res.statusCode})`);
      }
    } finally {
      await agent.close();
      await plain.close();
      await secure.close();
    }
  });
});
