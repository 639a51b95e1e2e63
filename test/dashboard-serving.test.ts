/**
 * The dashboard's server side through `app.inject()` (no browser): `GET /api/v1/whoami` per
 * role, and the static app — caching headers, ETag revalidation, client-route fallback, API
 * 404s left alone, no way out of the web root, and a clear answer when the app is not built.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Harness, codeOf, startHarness } from './api-harness.js';

const INDEX = '<!doctype html><html><body><div id="root"></div><script type="module" src="/assets/app-1a2b3c.js"></script></body></html>';

/** Builds an app whose web root is `dir` (TERN_WEB_DIR is read when the routes register). */
async function harnessWithWebDir(dir: string): Promise<Harness> {
  const saved = process.env.TERN_WEB_DIR;
  process.env.TERN_WEB_DIR = dir;
  try {
    return await startHarness();
  } finally {
    if (saved === undefined) delete process.env.TERN_WEB_DIR;
    else process.env.TERN_WEB_DIR = saved;
  }
}

describe('dashboard serving', () => {
  let root: string;
  let web: string;
  let h: Harness;

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'tern-web-'));
    web = path.join(root, 'web');
    await mkdir(path.join(web, 'assets'), { recursive: true });
    await writeFile(path.join(web, 'index.html'), INDEX);
    await writeFile(path.join(web, 'assets', 'app-1a2b3c.js'), 'console.log("app");');
    await writeFile(path.join(web, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(path.join(root, 'secret.txt'), 'outside the web root');
    h = await harnessWithWebDir(web);
  });
  after(async () => {
    await h.close();
    await rm(root, { recursive: true, force: true });
  });

  it('tells each reading role who it is and what it may do; gateway tokens cannot read', async () => {
    const expected = {
      viewer: ['read', 'metrics'],
      deployer: ['read', 'release', 'feedback', 'metrics'],
      admin: ['read', 'release', 'admin', 'dataplane', 'feedback', 'metrics'],
    } as const;
    for (const [role, access] of Object.entries(expected)) {
      const res = await h.call('GET', '/api/v1/whoami', { token: h.tokens[role as keyof typeof expected] });
      assert.equal(res.statusCode, 200, res.body);
      const me = res.json<{ name: string; role: string; access: string[] }>();
      assert.equal(me.role, role);
      assert.deepEqual(me.access, access);
      assert.equal(me.name, role === 'admin' ? 'bootstrap-admin' : `${role}-1`);
    }
    assert.equal((await h.call('GET', '/api/v1/whoami', { token: h.tokens.gateway })).statusCode, 403);
    assert.equal((await h.call('GET', '/api/v1/whoami', { token: null })).statusCode, 401);
  });

  it('serves index.html at / and for client routes, never cached without revalidation', async () => {
    for (const url of ['/', '/releases/rel_123', '/services/checkout/releases/new', '/audit?service=checkout']) {
      const res = await h.call('GET', url, { token: null });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.body, INDEX, url);
      assert.equal(res.headers['cache-control'], 'no-cache', url);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.match(String(res.headers['content-security-policy']), /script-src 'self'/);
    }
  });

  it('serves hashed assets as immutable, other files with revalidation, and answers 304 to a matching ETag', async () => {
    const asset = await h.call('GET', '/assets/app-1a2b3c.js', { token: null });
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(String(asset.headers['content-type']), /^text\/javascript/);
    const icon = await h.call('GET', '/favicon.svg', { token: null });
    assert.equal(icon.headers['cache-control'], 'no-cache');
    const etag = String(icon.headers.etag);
    const again = await h.call('GET', '/favicon.svg', { token: null, headers: { 'if-none-match': etag } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
  });

  it('leaves /api/* to the API: unknown paths keep the JSON 404 and wrong methods the 405', async () => {
    const miss = await h.call('GET', '/api/v1/nothing-here', { token: null });
    assert.equal(miss.statusCode, 404);
    assert.equal(codeOf(miss), 'TERN_NOT_FOUND');
    const apiRoot = await h.call('GET', '/api', { token: null });
    assert.equal(codeOf(apiRoot), 'TERN_NOT_FOUND');
    const wrongMethod = await h.call('POST', '/', { token: null, body: {} });
    assert.equal(wrongMethod.statusCode, 405);
  });

  it('answers 404 for a missing file and never leaves the web root', async () => {
    assert.equal((await h.call('GET', '/assets/missing-9z.js', { token: null })).statusCode, 404);
    for (const url of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/..%5csecret.txt', '/.hidden.txt']) {
      const res = await h.call('GET', url, { token: null });
      assert.ok(!res.body.includes('outside the web root'), `${url} escaped the web root`);
      assert.ok(res.statusCode === 404 || res.body === INDEX, `${url}: ${res.statusCode}`);
    }
  });

  it('says how to build the app when dist/web is missing', async () => {
    const bare = await harnessWithWebDir(path.join(root, 'not-built'));
    try {
      const res = await bare.call('GET', '/releases/rel_1', { token: null });
      assert.equal(res.statusCode, 404);
      assert.match(res.body, /not built: run `npm run build`/);
      assert.equal((await bare.call('GET', '/api/v1/whoami')).statusCode, 200, 'the API works without the app');
    } finally {
      await bare.close();
    }
  });
});
