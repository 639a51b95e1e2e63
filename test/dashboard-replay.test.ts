/**
 * The release page's "What if" panel in a real browser (Debian's Chromium) against a real
 * `tern server` (run `npm run build` first): a viewer replays a release the judge rolled back —
 * with its own settings the panel says it would have rolled back at step 1, as it did; with a
 * looser error tolerance and ceiling it would not have failed; a bad value is refused by the API
 * and shown; and no replay leaves a success in the audit log (a replay writes nothing).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import {
  type BrowserHandle,
  type ServerHandle,
  api,
  createToken,
  launchBrowser,
  must,
  pushWindows,
  screenshot,
  signIn,
  skipReason,
  startServer,
} from './dashboard-harness.js';

interface ReleaseJson {
  id: string;
  status: string;
}

describe('dashboard what-if replay', { skip: skipReason(), timeout: 180_000 }, () => {
  let server: ServerHandle;
  let browser: BrowserHandle;
  let page: Page;
  let releaseId: string;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    const gateway = (await createToken(server, 'edge-1', 'gateway')).secret;
    const viewer = await createToken(server, 'watcher', 'viewer');
    await must(server, 'POST', '/api/v1/services', 201, {
      body: { name: 'payments', match: { pathPrefix: '/pay' }, stable: { version: 'p1', endpoints: ['http://127.0.0.1:9011'] } },
    });
    const faulty = await must<ReleaseJson>(server, 'POST', '/api/v1/services/payments/releases', 201, {
      body: { version: 'p2', endpoints: ['http://127.0.0.1:9012'], steps: '10:2m,100' },
    });
    releaseId = faulty.id;
    // Canary 10% errors vs stable 0.5%, at a 10% split, one window a second, like a gateway.
    let status = faulty.status;
    for (let second = 0; second < 40 && status !== 'rolled_back'; second++) {
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
    page = await browser.newPage();
    await signIn(page, server, viewer.secret);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('replays the release’s own settings: it would have rolled back at step 1, with the failing checks', async () => {
    await page.goto(`${server.url}/releases/${releaseId}`);
    const panel = page.locator('[data-testid=what-if]');
    await panel.getByRole('heading', { name: 'What if' }).waitFor();
    await panel.locator('[data-testid=replay]').click();
    const result = panel.locator('[data-testid=replay-result]');
    await result.waitFor();
    assert.equal(await result.getAttribute('data-outcome'), 'fail');
    assert.match(
      await panel.locator('[data-testid=replay-summary]').innerText(),
      /Would have rolled back at step 1 .*; really it was rolled back/,
    );
    const first = result.locator('tr[data-step="0"]');
    assert.equal(await first.getAttribute('data-replay'), 'fail');
    assert.match(await first.innerText(), /rolled back after/);
    assert.match(await first.innerText(), /would have failed after \S+ \(roll back\)/);
    assert.equal(await result.locator('tr[data-step="1"]').getAttribute('data-replay'), 'not-reached');
    const failing = result.locator('[data-testid=replay-failing] tr[data-outcome=fail]');
    assert.ok((await failing.count()) >= 1);
    assert.match(await failing.first().innerText(), /error/);
    await screenshot(page, 'what-if-own-settings');
  });

  it('replays a looser error tolerance and ceiling: it would not have failed', async () => {
    const panel = page.locator('[data-testid=what-if]');
    await panel.getByLabel('Error-rate tolerance (%)').fill('5000');
    await panel.getByLabel('Error ceiling (%)').fill('50');
    await panel.locator('[data-testid=replay]').click();
    const result = panel.locator('[data-testid=replay-result][data-outcome=no-failure]');
    await result.waitFor();
    assert.match(await panel.locator('[data-testid=replay-summary]').innerText(), /^Would not have failed on the evidence there is/);
    assert.notEqual(await result.locator('tr[data-step="0"]').getAttribute('data-replay'), 'fail');
    assert.equal(await result.locator('[data-testid=replay-failing]').count(), 0);
    await screenshot(page, 'what-if-looser');
  });

  it('shows the API’s refusal of a bad value, and no replay is audited as a change', async () => {
    const panel = page.locator('[data-testid=what-if]');
    await panel.getByLabel('Latency tolerance (%)').fill('-5');
    await panel.locator('[data-testid=replay]').click();
    const error = panel.locator('[data-testid=replay-error]');
    await error.waitFor();
    assert.match(await error.innerText(), /latency.*tolerance/i);
    const audit = await must<{ events: Array<{ action: string; outcome: string }> }>(
      server,
      'GET',
      '/api/v1/audit?action=release.replay',
      200,
    );
    assert.deepEqual(
      audit.events.map((e) => e.outcome),
      ['rejected'],
      'only the refused replay is audited',
    );
  });
});
