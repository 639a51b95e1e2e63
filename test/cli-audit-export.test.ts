/**
 * `tern audit export` and `tern audit verify` against a real listening API, as a real CLI
 * process (run from source through tsx): the file verifies, an edited copy does not, and a
 * wrong expected head is refused.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from './support/processes.js';
import { serviceBody, startHarness } from './api-harness.js';

const run = promisify(execFile);

async function tern(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('tern audit export / verify', { timeout: 60_000 }, () => {
  it('exports a file that verifies, and catches an edit and a wrong head', async () => {
    const h = await startHarness();
    const dir = await mkdtemp(path.join(tmpdir(), 'tern-audit-export-'));
    try {
      await h.call('POST', '/api/v1/services', { body: serviceBody('alpha') });
      await h.app.listen({ host: '127.0.0.1', port: 0 });
      const url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
      const file = path.join(dir, 'audit.jsonl');
      const exported = await tern(['audit', 'export', '--url', url, '--token', h.tokens.admin, '--file', file]);
      assert.equal(exported.code, 0, exported.stderr);
      const head = /Chain head: ([0-9a-f]{64})/.exec(exported.stderr)?.[1];
      assert.ok(head, exported.stderr);
      const count = (await h.store.listAudit({ limit: 1000 })).length;
      assert.match(exported.stderr, new RegExp(`Exported ${count} audit events`));

      const ok = await tern(['audit', 'verify', file, '--head', head]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, new RegExp(`OK: ${count} events, chain head ${head}`));
      const json = await tern(['audit', 'verify', file, '-o', 'json']);
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(JSON.parse(json.stdout), { ok: true, file, count, head });

      const edited = path.join(dir, 'edited.jsonl');
      await writeFile(edited, (await readFile(file, 'utf8')).replace('service/alpha', 'service/omega'));
      const bad = await tern(['audit', 'verify', edited]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /does not verify: line \d+: chain hash/);

      const wrongHead = await tern(['audit', 'verify', file, '--head', '0'.repeat(64)]);
      assert.equal(wrongHead.code, 1);
      assert.match(wrongHead.stderr, /is not the expected/);

      const viewer = await tern(['audit', 'export', '--url', url, '--token', h.tokens.viewer]);
      assert.equal(viewer.code, 4, 'a viewer may not export');
      const list = await tern(['audit', '--url', url, '--token', h.tokens.viewer, '--action', 'service.create']);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /service\/alpha/, 'plain `tern audit` still lists');
    } finally {
      await h.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
