/**
 * The dashboard over HTTPS in a real browser: `tern server --tls-cert … --tls-key …` with a
 * certificate from a throwaway CA, Debian's Chromium trusting exactly that certificate (its
 * public key is pinned with --ignore-certificate-errors-spki-list; certificate errors stay on
 * for everything else). The page loads over TLS with HSTS, sign-in and the live API calls work;
 * the same page in a browser that does not trust the certificate is refused.
 */
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BrowserHandle, type ServerHandle, launchBrowser, screenshot, signIn, skipReason, startServer } from './dashboard-harness.js';
import { type CertFiles, issueCert, makeCa } from './fixtures/certs.js';

const skip = skipReason();

/** Base64 SHA-256 of the certificate's SubjectPublicKeyInfo, as Chromium's SPKI list wants it. */
function spkiHash(pem: string): string {
  const der = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

describe('dashboard over HTTPS in a real browser', { skip, timeout: 180_000 }, () => {
  let certs: string;
  let cert: CertFiles;
  let server: ServerHandle;

  before(async () => {
    certs = await mkdtemp(path.join(tmpdir(), 'tern-dashboard-tls-'));
    cert = await issueCert(certs, await makeCa(certs), 'dashboard');
    server = await startServer({ args: ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile] });
  });

  after(async () => {
    await server?.stop();
    await rm(certs, { recursive: true, force: true });
  });

  it('loads over TLS with HSTS, and sign-in and the API calls work', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    let browser: BrowserHandle | undefined;
    try {
      browser = await launchBrowser([`--ignore-certificate-errors-spki-list=${spkiHash(cert.pem)}`]);
      const page = await browser.newPage();
      const apiAnswers: { url: string; hsts: string | undefined }[] = [];
      page.on('response', (r) => {
        if (r.url().includes('/api/v1/')) apiAnswers.push({ url: r.url(), hsts: r.headers()['strict-transport-security'] });
      });
      const response = await page.goto(server.url + '/');
      assert.ok(response, 'the navigation got an answer');
      assert.equal(response.status(), 200);
      assert.ok(response.url().startsWith('https://'), response.url());
      assert.equal(response.headers()['strict-transport-security'], 'max-age=31536000');
      const security = await response.securityDetails();
      assert.ok(security, 'the page came over TLS');
      assert.match(security.protocol ?? '', /^TLS 1\.[23]$/);
      assert.equal(security.subjectName, 'dashboard');
      assert.match(security.issuer ?? '', /Tern test test CA/);

      await signIn(page, server, server.adminToken);
      assert.ok(apiAnswers.length > 0, 'the app called the API');
      for (const a of apiAnswers) {
        assert.ok(a.url.startsWith('https://'), a.url);
        assert.equal(a.hsts, 'max-age=31536000', a.url);
      }
      assert.equal(await page.evaluate('window.isSecureContext'), true);
      await screenshot(page, 'dashboard-tls');
      assert.deepEqual(browser.pageErrors, []);
    } finally {
      await browser?.close();
    }
  });

  it('a browser that does not trust the certificate is refused (the check above is real)', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await assert.rejects(page.goto(server.url + '/'), /ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await browser.close();
    }
  });
});
