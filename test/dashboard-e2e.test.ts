/**
 * The dashboard end to end, as a person uses it: Debian's Chromium (playwright-core) against a
 * real `tern server` process. Sign in, see a service, start a release from the form (API
 * validation shown next to the field), watch the weight and the charts update live, roll back
 * with a reason, find it in the audit log; a viewer sees no actions and is refused by the API;
 * a revoked token sends the page back to the sign-in. Screenshots go to test-artifacts/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import {
  type BrowserHandle,
  type ServerHandle,
  api,
  createToken,
  eventually,
  launchBrowser,
  must,
  pushWindows,
  screenshot,
  signIn,
  skipReason,
  startBackend,
  startServer,
} from './dashboard-harness.js';

interface ReleaseJson {
  id: string;
  status: string;
  weight: number;
  version: string;
}

/** The browser globals the page scripts below touch (the test's tsconfig has no DOM types). */
interface BrowserGlobals {
  marker?: number;
  readonly sessionStorage: { getItem(key: string): string | null };
  readonly document: {
    readonly documentElement: { readonly scrollWidth: number };
    readonly activeElement: { readonly textContent: string | null; getAttribute(name: string): string | null } | null;
  };
}
interface Canvas {
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}

const skip = skipReason();

describe('dashboard in a real browser', { skip, timeout: 240_000 }, () => {
  let server: ServerHandle;
  let browser: BrowserHandle;
  let page: Page;
  let gateway: string;
  let viewer: { secret: string; id: string };
  let releaseId: string;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    gateway = (await createToken(server, 'edge-1', 'gateway')).secret;
    viewer = await createToken(server, 'watcher', 'viewer');
    await must(server, 'POST', '/api/v1/services', 201, {
      body: {
        name: 'checkout',
        match: { pathPrefix: '/checkout' },
        stickiness: { header: 'x-user-id' },
        stable: { version: 'v1', endpoints: ['http://127.0.0.1:9001'] },
      },
    });
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('serves the app with caching headers and keeps API 404s as JSON', async () => {
    const index = await fetch(server.url + '/releases/some-client-route');
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const html = await index.text();
    assert.match(html, /<div id="root">/);
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, 'index.html references a hashed script');
    const js = await fetch(server.url + asset);
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const apiMiss = await fetch(server.url + '/api/v1/no-such-route');
    assert.equal(apiMiss.status, 404);
    assert.equal(((await apiMiss.json()) as { error: { code: string } }).error.code, 'TERN_NOT_FOUND');
    assert.equal((await fetch(server.url + '/assets/missing.js')).status, 404);
  });

  it('signs in with a token (a wrong one is refused) and lists the service', async () => {
    await page.goto(server.url + '/');
    await page.getByLabel('API token').fill('tern_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That token is unknown or revoked.').waitFor();
    await screenshot(page, 'signin-refused');
    await page.getByLabel('API token').fill(server.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-testid=me]').getByText('admin').waitFor();
    const row = page.locator('tr[data-service=checkout]');
    await row.waitFor();
    assert.match(await row.innerText(), /v1/);
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as BrowserGlobals).sessionStorage.getItem('tern.token')),
      server.adminToken,
    );
    await page.locator('[data-testid=live]').getByText('live').waitFor();
    await screenshot(page, 'services');
  });

  it('starts a release from the form, with the API validation message next to the field', async () => {
    await page.getByRole('link', { name: 'checkout' }).click();
    await page.getByRole('link', { name: 'Start a release' }).click();
    await page.getByLabel('Version').fill('not a version!');
    await page.getByLabel('Canary endpoints').fill('http://127.0.0.1:9002');
    await page.getByLabel('Steps').fill('10:5m,50:5m,100');
    await page.getByLabel('Metadata').fill('commit=9f8d111\npipeline=https://ci.example/run/42');
    await page.getByLabel('Reason').fill('ship the new cart');
    // Practical tolerances: latency 30% and 10 ms, errors +0.5 pp, a 8% ceiling, a 20 s warm-up, feedback on.
    await page.getByLabel('Latency tolerance (%)', { exact: true }).fill('30');
    await page.getByLabel('Latency tolerance (ms)', { exact: true }).fill('lots');
    await page.getByLabel('Error tolerance (pp)', { exact: true }).fill('0.5');
    await page.getByLabel('Error-rate ceiling (%)', { exact: true }).fill('8');
    await page.getByLabel('Warm-up', { exact: true }).fill('20s');
    await page.getByLabel('Compare user feedback with stable’s').check();
    await page.getByLabel('Minimum score (optional)', { exact: true }).fill('3');
    await page.getByRole('button', { name: 'Start release' }).click();
    const versionError = page.locator('[data-error-for=version]');
    await versionError.waitFor();
    assert.match(await versionError.innerText(), /version/i);
    assert.equal(await page.getByLabel('Version').getAttribute('aria-invalid'), 'true');
    const latencyError = page.locator('[data-error-for="analysis.latency.minDifferenceMs"]');
    await latencyError.waitFor();
    assert.match(await latencyError.innerText(), /minDifferenceMs/);
    await screenshot(page, 'new-release-invalid');

    await page.getByLabel('Version').fill('v2');
    await page.getByLabel('Latency tolerance (ms)', { exact: true }).fill('10');
    await page.getByRole('button', { name: 'Start release' }).click();
    await page.waitForURL((url) => url.pathname.startsWith('/releases/'));
    releaseId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    await page.locator('[data-testid=weight]').getByText('10%').waitFor();
    const settings = await page.locator('[data-testid=analysis-settings]').innerText();
    for (const words of [
      'latency: fails when 30% and 10 ms slower; no p99 ceiling',
      'errors: above 1.1× stable and +0.5 pp; ceiling 8%',
      'warm-up 20 s',
      'feedback: fails when 0.5 points below stable or below 3',
    ]) {
      assert.ok(settings.includes(words), `the release page says "${words}": ${settings}`);
    }
    // The form's percents and percentage points reach the API as its fractions.
    const stored = await must<{ analysis: Record<string, unknown> }>(server, 'GET', `/api/v1/releases/${releaseId}`, 200);
    assert.deepEqual(stored.analysis.latency, { tolerance: 0.3, minDifferenceMs: 10, p99MaxMs: null });
    assert.deepEqual(stored.analysis.errorRate, { tolerance: 0.1, minDifference: 0.005, max: 0.08 });
    assert.deepEqual(stored.analysis.feedback, { tolerance: 0.5, minScore: 3 });
    assert.equal(stored.analysis.warmupMs, 20_000);
    assert.match(await page.locator('[data-testid=metadata]').innerText(), /9f8d111/);
    assert.equal(await page.getByRole('link', { name: 'https://ci.example/run/42' }).count(), 1);
    assert.match(await page.locator('li.step-current').innerText(), /10%[\s\S]*left/);
  });

  it('updates the weight live when it changes through the API, without a reload', async () => {
    await page.evaluate(() => ((globalThis as unknown as BrowserGlobals).marker = 42));
    await must(server, 'PUT', `/api/v1/releases/${releaseId}/weight`, 200, { body: { weight: 35, reason: 'more traffic' } });
    await page.locator('[data-testid=weight]').getByText('35%').waitFor();
    assert.equal(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).marker), 42, 'the page did not reload');
    await page.locator('[data-testid=timeline] li[data-action="release.weight"]').waitFor();
  });

  it('draws stable and canary request rate, error rate and latency from pushed metric windows', async () => {
    const now = Math.floor(Date.now() / 1000) * 1000;
    for (let s = 20; s >= 1; s--) {
      await pushWindows(server, gateway, releaseId, now - s * 1000, [
        {
          version: 'v1',
          requests: 650,
          errors: 3,
          latency: [
            [40, 500],
            [90, 140],
            [400, 10],
          ],
        },
        {
          version: 'v2',
          requests: 350,
          errors: 1 + (s % 3),
          latency: [
            [45, 270],
            [110, 75],
            [520, 5],
          ],
        },
      ]);
    }
    for (const chart of ['rate', 'errors', 'latency']) {
      const fig = page.locator(`figure[data-chart=${chart}]`);
      await eventually(`${chart} chart data`, async () => Number(await fig.getAttribute('data-points')) >= 40);
      const painted = await fig.locator('canvas').evaluate((c: Canvas) => {
        const ctx = c.getContext('2d');
        if (!ctx || c.width === 0 || c.height === 0) return 0;
        const px = ctx.getImageData(0, 0, c.width, c.height).data;
        const colors = new Set<string>();
        for (let i = 0; i < px.length; i += 16) if (px[i + 3]! > 0) colors.add(`${px[i]},${px[i + 1]},${px[i + 2]}`);
        return colors.size;
      });
      assert.ok(painted > 3, `${chart} canvas has drawn series (${painted} colours)`);
    }
    const totals = await page.locator('[data-testid=totals]').innerText();
    assert.match(totals, /stable\s+v1\s+13,000/);
    assert.match(totals, /canary\s+v2\s+7,000/);
    await screenshot(page, 'release-live-1280');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('figure[data-chart=rate] canvas').waitFor();
    await eventually(
      'charts resized to the phone width',
      async () => (await page.locator('figure[data-chart=rate] canvas').boundingBox())!.width <= 390,
    );
    const overflow = await page.evaluate(() => (globalThis as unknown as BrowserGlobals).document.documentElement.scrollWidth);
    assert.ok(overflow <= 390, `no sideways scrolling at phone width (page is ${overflow}px wide)`);
    await screenshot(page, 'release-live-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('resumes, promotes a step, pauses and sets the weight, each with a reason and a result', async () => {
    const act = async (action: string, reason: string, expect: RegExp, fill?: (dialog: ReturnType<Page['getByRole']>) => Promise<void>) => {
      await page.locator(`button[data-action=${action}]`).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      await fill?.(dialog);
      await dialog.getByLabel(/Reason/).fill(reason);
      await dialog.locator(`button[data-confirm=${action}]`).click();
      await dialog.waitFor({ state: 'hidden' });
      await page.locator('[data-testid=action-result]').getByText(expect).waitFor();
    };
    await act('resume', 'numbers look fine', /Resume automatic stepping: done\. Status progressing/);
    await act('promote', 'go faster', /weight 50%/);
    await page.locator('[data-testid=weight]').getByText('50%').waitFor();
    assert.match(await page.locator('li.step-current').innerText(), /50%/);
    await act('pause', 'lunch', /Status paused/);
    await act('weight', 'back off a little', /weight 20%/, (dialog) => dialog.getByLabel(/Canary weight/).fill('20'));
    await page.locator('[data-testid=weight]').getByText('20%').waitFor();
    const events = await page.locator('[data-testid=timeline] li').allInnerTexts();
    for (const [action, reason] of [
      ['release.resume', 'numbers look fine'],
      ['release.promote', 'go faster'],
      ['release.pause', 'lunch'],
      ['release.weight', 'back off a little'],
    ]) {
      assert.ok(
        events.some((e) => e.includes(action!) && e.includes(reason!)),
        `${action} with its reason in the timeline: ${events.join(' | ')}`,
      );
    }
  });

  it('reaches the actions from the keyboard: skip link, buttons, a dialog that Escape closes', async () => {
    await page.reload();
    await page.locator('[data-testid=weight]').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as BrowserGlobals).document.activeElement?.textContent),
      'Skip to content',
    );
    await page.locator('button[data-action=rollback]').focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as BrowserGlobals).document.activeElement?.getAttribute('name')),
      'reason',
    );
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    assert.equal((await must<ReleaseJson>(server, 'GET', `/api/v1/releases/${releaseId}`, 200)).status, 'paused', 'nothing happened');
  });

  it('rolls back with a reason and shows the result and the audit entry', async () => {
    await page.locator('button[data-action=rollback]').click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await dialog.locator('button[data-confirm=rollback]').click();
    await dialog.getByText('Say why').waitFor();
    await dialog.getByLabel(/Reason/).fill('cart totals look wrong');
    await dialog.locator('button[data-confirm=rollback]').click();
    await page
      .locator('[data-testid=action-result]')
      .getByText(/Roll back: done/)
      .waitFor();
    await page.locator('main[data-status=rolled_back]').waitFor();
    assert.equal(await page.locator('button[data-action]').count(), 0, 'no actions on a finished release');
    await page.locator('[data-testid=weight]').getByText('0%').waitFor();

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Action').fill('release.rollback');
    await page.getByRole('button', { name: 'Apply' }).click();
    const row = page.locator('tr[data-action="release.rollback"]').first();
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, /token:bootstrap-admin/);
    assert.match(text, /cart totals look wrong/);
    assert.match(text, /success/);
    await screenshot(page, 'audit-filtered');
  });

  it('gives a viewer no action buttons, and the API refuses a crafted request (403)', async () => {
    const second = await must<ReleaseJson>(server, 'POST', '/api/v1/services/checkout/releases', 201, {
      body: { version: 'v3', endpoints: ['http://127.0.0.1:9003'], steps: '5:10m,100' },
    });
    const viewerPage = await browser.newPage();
    await signIn(viewerPage, server, viewer.secret);
    await viewerPage.locator('[data-testid=me]').getByText('viewer').waitFor();
    await viewerPage.goto(`${server.url}/releases/${second.id}`);
    await viewerPage.locator('[data-testid=weight]').getByText('5%').waitFor();
    assert.equal(await viewerPage.locator('button[data-action]').count(), 0);
    assert.equal(await viewerPage.getByRole('heading', { name: 'Actions' }).count(), 0);
    await screenshot(viewerPage, 'release-as-viewer');
    await viewerPage.goto(`${server.url}/services/checkout`);
    await viewerPage.getByRole('heading', { name: 'Release history' }).waitFor();
    assert.equal(await viewerPage.getByRole('link', { name: 'Start a release' }).count(), 0);

    const crafted = await viewerPage.evaluate(
      async ({ id, token }) => {
        const res = await fetch(`/api/v1/releases/${id}/rollback`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ reason: 'viewer tries' }),
        });
        return { status: res.status, body: (await res.json()) as { error: { code: string } } };
      },
      { id: second.id, token: viewer.secret },
    );
    assert.equal(crafted.status, 403);
    assert.equal(crafted.body.error.code, 'TERN_FORBIDDEN');
    const still = await must<ReleaseJson>(server, 'GET', `/api/v1/releases/${second.id}`, 200);
    assert.equal(still.status, 'progressing');

    // A revoked token ends the session: the next call answers 401 and the sign-in returns with a message.
    await must(server, 'DELETE', `/api/v1/tokens/${viewer.id}`, 204);
    // The click makes the next call; a background refresh (live updates) may answer 401 first and
    // take the link away, which ends the session just the same.
    await viewerPage
      .getByRole('link', { name: 'Audit log' })
      .click({ timeout: 5_000 })
      .catch(() => undefined);
    await viewerPage
      .locator('[data-testid=signin-message]')
      .getByText(/session ended/i)
      .waitFor();
    assert.equal(await viewerPage.evaluate(() => (globalThis as unknown as BrowserGlobals).sessionStorage.getItem('tern.token')), null);
    await screenshot(viewerPage, 'session-ended');
    await viewerPage.close();

    // The admin promotes it fully from the page; the service's stable version follows.
    await page.goto(`${server.url}/releases/${second.id}`);
    await page.locator('button[data-action=promote-full]').click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/Reason/).fill('v3 verified by hand');
    await dialog.locator('button[data-confirm=promote-full]').click();
    await page
      .locator('[data-testid=action-result]')
      .getByText(/Promote fully .*: done/)
      .waitFor();
    await page.locator('main[data-status=promoted]').waitFor();
    await page.locator('[data-testid=weight]').getByText('100%').waitFor();
    await page.getByRole('link', { name: 'Services' }).first().click();
    await page.locator('tr[data-service=checkout]').getByText('v3').waitFor();
  });

  it('shows which judge rolled a faulty release back, and with what evidence', async () => {
    await must(server, 'POST', '/api/v1/services', 201, {
      body: { name: 'payments', match: { pathPrefix: '/pay' }, stable: { version: 'p1', endpoints: ['http://127.0.0.1:9011'] } },
    });
    const faulty = await must<ReleaseJson>(server, 'POST', '/api/v1/services/payments/releases', 201, {
      body: {
        version: 'p2',
        endpoints: ['http://127.0.0.1:9012'],
        steps: '10:2m,100',
        analysis: { judge: 'sequential', onFailure: 'rollback' },
        metadata: { commit: 'bad0001' },
      },
    });
    await page.goto(`${server.url}/releases/${faulty.id}`);
    await page.locator('[data-testid=weight]').getByText('10%').waitFor();
    // Canary 10% errors vs stable 0.5%, at a 10% split, one window a second, like a gateway.
    const deadline = Date.now() + 40_000;
    let status = faulty.status;
    for (let second = 0; Date.now() < deadline && status !== 'rolled_back'; second++) {
      const windowStart = Math.floor(Date.now() / 1000) * 1000;
      await pushWindows(server, gateway, faulty.id, windowStart, [
        {
          version: 'p1',
          requests: 900,
          errors: second % 2 === 0 ? 4 : 5,
          latency: [
            [30, 800],
            [80, 100],
          ],
        },
        {
          version: 'p2',
          requests: 100,
          errors: 10,
          latency: [
            [32, 90],
            [85, 10],
          ],
        },
      ]);
      await new Promise((r) => setTimeout(r, 1000));
      status = (await api<ReleaseJson>(server, 'GET', `/api/v1/releases/${faulty.id}`)).body.status;
    }
    assert.equal(status, 'rolled_back', 'the controller rolled the faulty release back');
    const summary = page.locator('[data-testid=failure-summary]');
    await summary.waitFor();
    await page.locator('main[data-status=rolled_back]').waitFor();
    const text = await summary.innerText();
    assert.match(text, /Rolled back by the sequential judge at step 1/);
    const failed = summary.locator('tr[data-outcome=fail]');
    assert.ok((await failed.count()) >= 1, 'at least one failing check is listed');
    assert.match(await failed.first().innerText(), /error/);
    assert.match(await failed.first().innerText(), /\d/, 'with its statistic and bound');
    await page.locator('li.alert-open, li.alert-resolved').first().waitFor();
    await page.locator('[data-testid=timeline] li[data-action="release.rollback"]').waitFor();
    await screenshot(page, 'release-rolled-back-by-judge');
  });

  it('charts real traffic sent through the built-in gateway to real backends', async (t) => {
    if (!server.gatewayUrl) return t.skip('this tern server runs no built-in gateway');
    const stable = await startBackend('s1');
    const canary = await startBackend('s2');
    try {
      await must(server, 'POST', '/api/v1/services', 201, {
        body: {
          name: 'shop',
          match: { pathPrefix: '/shop' },
          stickiness: { header: 'x-user-id' },
          stable: { version: 's1', endpoints: [stable.url] },
        },
      });
      const release = await must<ReleaseJson>(server, 'POST', '/api/v1/services/shop/releases', 201, {
        body: { version: 's2', endpoints: [canary.url], steps: '50:10m,100' },
      });
      await page.goto(`${server.url}/releases/${release.id}`);
      await page.locator('[data-testid=weight]').getByText('50%').waitFor();
      // Traffic from 40 users for a few seconds: about half of them are sticky on the canary.
      const deadline = Date.now() + 20_000;
      for (let round = 0; Date.now() < deadline && (round < 6 || stable.hits() === 0 || canary.hits() === 0); round++) {
        await Promise.all(
          Array.from({ length: 40 }, (_, user) =>
            fetch(`${server.gatewayUrl}/shop/cart`, { headers: { 'x-user-id': `user-${user}` } }).then((r) => r.text()),
          ),
        );
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.ok(stable.hits() > 0 && canary.hits() > 0, `both backends served (stable ${stable.hits()}, canary ${canary.hits()})`);
      const totals = page.locator('[data-testid=totals]');
      await eventually(
        'gateway metrics for both versions on the page',
        async () => {
          const text = await totals.innerText();
          const requests = (role: string) => Number(new RegExp(`${role}\\s+s\\d\\s+([\\d,]+)`).exec(text)?.[1]?.replace(/,/g, '') ?? 0);
          return requests('stable') > 0 && requests('canary') > 0;
        },
        20_000,
      );
      assert.ok(Number(await page.locator('figure[data-chart=rate]').getAttribute('data-points')) > 0);
      await screenshot(page, 'release-real-traffic');
    } finally {
      await stable.close();
      await canary.close();
    }
  });

  it('raised no script errors in the pages', () => {
    assert.deepEqual(browser.pageErrors, []);
  });
});

describe('dashboard when the control plane goes away', { skip, timeout: 120_000 }, () => {
  let server: ServerHandle | undefined;
  let browser: BrowserHandle;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('says the control plane is unreachable and that live updates are reconnecting', async () => {
    const page = await browser.newPage();
    await signIn(page, server!, server!.adminToken);
    await page.getByText('No services yet.').waitFor();
    await page.locator('[data-testid=live]').getByText('live').waitFor();
    await server!.stop();
    await page.locator('[data-testid=live]').getByText('reconnecting…').waitFor();
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByText('The control plane is not reachable').waitFor();
    await screenshot(page, 'control-plane-down');
    server = undefined;
  });
});
