/**
 * What the dashboard shows besides the release flow (dashboard-e2e.test.ts), in Debian's
 * Chromium against a real `tern server`: a service's match rules and stickiness, the version a
 * release is moving to in the services list, every time in UTC as `tern` prints it (the browser
 * runs in another zone), the start form's plan and placeholders read from the server's defaults,
 * a release started from the form with a tolerance and a webhook that its page then shows (and
 * that is called), and the instance logs of a release whose canary the process driver started.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { ReleaseDefaultsJson, ReleaseJson } from '../src/api/types.js';
import { formatTime } from '../src/cli/output.js';
import { stopGroup } from '../src/control/drivers/process-group.js';
import {
  type BrowserHandle,
  type ServerHandle,
  ROOT,
  eventually,
  launchBrowser,
  must,
  screenshot,
  signIn,
  skipReason,
  startBackend,
  startServer,
} from './dashboard-harness.js';

const skip = skipReason();
/** A zone 5½ hours from UTC: a page that showed local time would show other digits. */
const BROWSER_ZONE = 'Asia/Kolkata';
const UTC_TIME = /\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z\b/;

/** A webhook receiver on loopback: records each POST's body. */
async function startReceiver(): Promise<{ url: string; bodies: string[]; close(): Promise<void> }> {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('dashboard: service details, defaults, webhooks, times and logs', { skip, timeout: 240_000 }, () => {
  let server: ServerHandle;
  let browser: BrowserHandle;
  let page: Page;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let defaults: ReleaseDefaultsJson;
  let formRelease: ReleaseJson;
  /** Process groups the driver started: a stopped server leaves them running, the test must not. */
  const groups: number[] = [];
  const backends: Array<{ close(): Promise<void> }> = [];

  before(async () => {
    receiver = await startReceiver();
    server = await startServer({ args: ['--webhook-allow', '127.0.0.1'] });
    browser = await launchBrowser([], { timezoneId: BROWSER_ZONE });
    await must(server, 'POST', '/api/v1/services', 201, {
      body: {
        name: 'search',
        match: { host: 'search.example', pathPrefix: '/search' },
        stickiness: { header: 'x-user-id' },
        stable: { version: 'v1', endpoints: ['http://127.0.0.1:9001'] },
        rules: [
          { header: 'x-tester', equals: '1', target: 'canary' },
          { cookie: 'beta', regex: '^on$', target: 'stable' },
        ],
      },
    });
    await must(server, 'POST', '/api/v1/services', 201, {
      body: { name: 'plain', match: { pathPrefix: '/plain' }, stable: { version: 'p1', endpoints: ['http://127.0.0.1:9002'] } },
    });
    defaults = await must<ReleaseDefaultsJson>(server, 'GET', '/api/v1/release-defaults', 200);
    page = await browser.newPage();
    await signIn(page, server, server.adminToken);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await Promise.all(groups.map((pgid) => stopGroup(pgid, 2000)));
    await Promise.all(backends.map((b) => b.close()));
    await receiver?.close();
  });

  it("shows a service's match rules, in order, and how its users are identified", async () => {
    await page.goto(`${server.url}/services/search`);
    await page.getByRole('heading', { name: 'Match rules' }).waitFor();
    assert.equal(await page.locator('[data-testid=stickiness]').innerText(), 'header x-user-id, else cookie tern_uid, else client IP');
    const rows = await page.locator('[data-testid=rules] tbody tr').allInnerTexts();
    assert.equal(rows.length, 2);
    assert.match(rows[0] ?? '', /^1\s+header x-tester equals "1"\s+canary$/);
    assert.match(rows[1] ?? '', /^2\s+cookie beta matches \/\^on\$\/\s+stable$/);
    await screenshot(page, 'service-rules');

    await page.goto(`${server.url}/services/plain`);
    await page.locator('[data-testid=no-rules]').waitFor();
    assert.equal(await page.locator('[data-testid=stickiness]').innerText(), 'cookie tern_uid (set by the gateway), else client IP');
  });

  it("starts the form's plan at the server's default plan, read from the API", async () => {
    assert.equal(defaults.plan, defaults.steps.map((s) => (s.holdMs > 0 ? `${s.weight}:${s.hold}` : String(s.weight))).join(','));
    await page.goto(`${server.url}/services/search/releases/new`);
    await eventually('the default plan in the Steps field', async () => (await page.getByLabel('Steps').inputValue()) === defaults.plan);
    // Placeholders are the server's analysis defaults, in the form's units.
    assert.equal(
      await page.getByLabel('Latency tolerance (%)', { exact: true }).getAttribute('placeholder'),
      String(defaults.analysis.latency.tolerance * 100),
    );
    assert.equal(await page.getByLabel('Warm-up', { exact: true }).getAttribute('placeholder'), defaults.analysis.warmup);

    // Whatever the server answers is what the form starts with (no copy kept in the web app).
    await page.route('**/api/v1/release-defaults', async (route) => {
      const real = await route.fetch();
      const json = (await real.json()) as ReleaseDefaultsJson;
      await route.fulfill({ response: real, json: { ...json, plan: '7:45s,100' } });
    });
    await page.reload();
    await eventually('the answered plan in the Steps field', async () => (await page.getByLabel('Steps').inputValue()) === '7:45s,100');
    await page.unroute('**/api/v1/release-defaults');
  });

  it('starts a release from the form with a tolerance and a webhook, and its page shows both', async () => {
    await page.goto(`${server.url}/services/search/releases/new`);
    await eventually('the default plan', async () => (await page.getByLabel('Steps').inputValue()) === defaults.plan);
    await page.getByLabel('Version').fill('v2');
    await page.getByLabel('Canary endpoints').fill('http://127.0.0.1:9003');
    await page.getByLabel('Latency tolerance (%)', { exact: true }).fill('35');
    await page.getByLabel('p99 ceiling (ms)', { exact: true }).fill('800');
    await page.getByLabel('Error tolerance (%)', { exact: true }).fill('25');
    await page.getByLabel('Warm-up', { exact: true }).fill('15s');
    await page.getByRole('button', { name: 'Add a webhook' }).click();
    await page.getByLabel('Webhook 1 type').selectOption('event');
    // A destination the server's --webhook-allow does not list is refused, next to the webhooks.
    await page.getByLabel('Webhook 1 URL').fill('http://10.1.2.3/hook');
    await page.getByRole('button', { name: 'Start release' }).click();
    const hookError = page.locator('[data-error-for=webhooks]');
    await hookError.waitFor();
    assert.match(await hookError.innerText(), /webhooks\[0\]/);
    await page.getByLabel('Webhook 1 URL').fill(`${receiver.url}/tern-events`);
    await screenshot(page, 'new-release-webhook');
    await page.getByRole('button', { name: 'Start release' }).click();
    await page.waitForURL((url) => url.pathname.startsWith('/releases/'));
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);

    const settings = page.locator('[data-testid=analysis-settings]');
    await settings.waitFor();
    const words = await settings.innerText();
    for (const expected of ['latency: fails when 35% and', 'p99 ceiling 800 ms', 'errors: above 1.25× stable', 'warm-up 15 s']) {
      assert.ok(words.includes(expected), `the release page says "${expected}": ${words}`);
    }
    const hooks = page.locator('[data-testid=webhooks] li');
    assert.equal(await hooks.count(), 1);
    assert.match(await hooks.first().innerText(), new RegExp(`^event → ${receiver.url}/tern-events`));
    await screenshot(page, 'release-webhook');

    formRelease = await must<ReleaseJson>(server, 'GET', `/api/v1/releases/${id}`, 200);
    assert.deepEqual(
      formRelease.steps.map((s) => [s.weight, s.holdMs]),
      defaults.steps.map((s) => [s.weight, s.holdMs]),
      "the release runs the server's default plan",
    );
    assert.equal(formRelease.analysis.latency.tolerance, 0.35);
    assert.equal(formRelease.analysis.latency.p99MaxMs, 800);
    assert.equal(formRelease.analysis.errorRate.tolerance, 0.25);
    assert.deepEqual(
      formRelease.webhooks.map((h) => [h.type, h.url]),
      [['event', `${receiver.url}/tern-events`]],
    );
    await eventually('the event webhook called about the release', () => Promise.resolve(receiver.bodies.some((b) => b.includes(id))));
  });

  it('lists the version an active release is moving to', async () => {
    await page.getByRole('link', { name: 'Services' }).first().click();
    const row = page.locator('tr[data-service=search]');
    await row.locator('[data-testid=target-version]').getByText('to v2').waitFor();
    assert.match(await row.innerText(), /v1[\s\S]*progressing[\s\S]*to v2/);
    assert.equal(await page.locator('tr[data-service=plain] [data-testid=target-version]').count(), 0);
    await screenshot(page, 'services-target-version');
  });

  it('shows every time in UTC, as the CLI prints it, whatever the browser’s zone', async () => {
    assert.notEqual(
      await page.evaluate(() => new Date(Date.UTC(2025, 0, 31, 12)).getHours()),
      12,
      `the browser runs in ${BROWSER_ZONE}, not UTC`,
    );
    await page.goto(`${server.url}/releases/${formRelease.id}`);
    const head = page.locator('.release-head');
    await head.getByText(/started/).waitFor();
    const cli = formatTime(formRelease.startedAt);
    assert.match(cli, UTC_TIME);
    assert.ok((await head.innerText()).includes(`started ${cli} by token:bootstrap-admin`), await head.innerText());
    const first = page.locator('[data-testid=timeline] time').first();
    await first.waitFor();
    assert.match(await first.innerText(), UTC_TIME);

    await page.getByRole('link', { name: 'Audit log' }).click();
    const cell = page.locator('tr[data-action="release.start"] time').first();
    await cell.waitFor();
    const at = await cell.getAttribute('datetime');
    assert.equal(await cell.innerText(), formatTime(at), 'the audit page and `tern audit` show the same text');
  });

  it("shows the instance logs of a release the process driver started, on the release's page", async () => {
    const stable = await startBackend('w1');
    backends.push(stable);
    await must(server, 'POST', '/api/v1/services', 201, {
      body: {
        name: 'worker',
        match: { pathPrefix: '/worker' },
        stable: { version: 'w1', endpoints: [stable.url] },
        deploy: {
          driver: 'process',
          command: `${process.execPath} ${path.join(ROOT, 'test', 'fixtures', 'version-app.mjs')} --port {port} --version {version}`,
          readiness: { path: '/healthz', timeout: '15s' },
        },
      },
    });
    const started = await must<ReleaseJson>(server, 'POST', '/api/v1/services/worker/releases', 201, {
      body: { version: 'w2', steps: '50:10m,100' },
    });
    await page.goto(`${server.url}/releases/${started.id}`);
    const logs = page.locator('[data-testid=logs]');
    await logs.getByRole('heading', { name: 'Instance logs' }).waitFor();
    const lines = logs.locator('pre.log-lines').first();
    await eventually('the instance output on the page', async () => /^listening \d+$/m.test(await lines.innerText()), 30_000);
    const release = await must<ReleaseJson>(server, 'GET', `/api/v1/releases/${started.id}`, 200);
    groups.push(...(release.deployment?.instances ?? []).map((i) => i.pid));
    const port = new URL(release.deployment!.instances[0]!.endpoint).port;
    assert.match(await lines.innerText(), new RegExp(`^listening ${port}$`, 'm'), 'the line the canary instance wrote');
    assert.match(
      await logs.innerText(),
      new RegExp(`instance 1 · pid ${release.deployment!.instances[0]!.pid} · http://127\\.0\\.0\\.1:${port}`),
    );
    await screenshot(page, 'release-logs');

    // A release with static endpoints has no logs panel.
    await page.goto(`${server.url}/releases/${formRelease.id}`);
    await page.locator('[data-testid=analysis-settings]').waitFor();
    assert.equal(await page.locator('[data-testid=logs]').count(), 0);
    await must(server, 'POST', `/api/v1/releases/${started.id}/rollback`, 200, { body: { reason: 'test done' } });
  });

  it('raised no script errors in the pages', () => {
    assert.deepEqual(browser.pageErrors, []);
  });
});
