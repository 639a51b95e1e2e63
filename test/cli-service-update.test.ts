/**
 * The CLI commands that close the gap with the API, run through the real command tree
 * (runCli) against a real API on a loopback socket: `service update` (match, stickiness,
 * stable), `service rules list|add|remove`, `release logs`, and `release status` after
 * `promote --full`. Each checks what the server then holds and what a person reads.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../src/cli/program.js';
import { type Harness, type ServiceJson, serviceBody, serviceWithRelease, startHarness } from './api-harness.js';

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

describe('tern service update / rules, release logs, status after promote --full', () => {
  let h: Harness;
  let url: string;
  let dir: string;
  before(async () => {
    h = await startHarness();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    dir = await mkdtemp(path.join(tmpdir(), 'tern-cli-svc-'));
  });
  after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `tern args…` in this process, capturing what it writes to stdout and stderr. */
  async function tern(...args: string[]): Promise<Run> {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) };
    const capture = (stream: NodeJS.WriteStream, sink: (s: string) => void) => {
      const original = stream.write.bind(stream);
      stream.write = (chunk: string | Uint8Array, ...rest: never[]) => {
        if (typeof chunk !== 'string') return original(chunk, ...rest);
        sink(chunk.replace(/\n$/, ''));
        return true;
      };
      return () => void (stream.write = original);
    };
    const restore = [capture(process.stdout, io.out), capture(process.stderr, io.err)];
    try {
      const code = await runCli(['--url', url, '--token', h.tokens.admin, ...args], io);
      return { code, out: out.join('\n'), err: err.join('\n') };
    } finally {
      for (const r of restore) r();
    }
  }

  async function service(name: string): Promise<ServiceJson> {
    return (await h.call('GET', `/api/v1/services/${name}`)).json<ServiceJson>();
  }

  it('service update changes the fields it names and keeps the rest of their group', async () => {
    const created = await h.call('POST', '/api/v1/services', {
      body: serviceBody('shop', { match: { host: 'shop.example', pathPrefix: '/shop' } }),
    });
    assert.equal(created.statusCode, 201, created.body);

    const run = await tern(
      'service',
      'update',
      'shop',
      '--path-prefix',
      '/store',
      '--sticky-header',
      'X-User',
      '--endpoint',
      'http://127.0.0.1:9011',
    );
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /^Service shop updated \(match, stickiness, stable\)\.$/m);
    assert.match(run.out, /^Stickiness\s+header x-user$/m);
    const s = await service('shop');
    assert.deepEqual(s.match, { host: 'shop.example', pathPrefix: '/store' });
    assert.deepEqual(s.stickiness, { header: 'x-user', cookie: 'tern_uid' });
    assert.deepEqual(s.stable, { version: 'v1', endpoints: ['http://127.0.0.1:9011'] });

    const cleared = await tern('service', 'update', 'shop', '--host', '', '--sticky-header', '', '--stable-version', 'v1.1', '-o', 'json');
    assert.equal(cleared.code, 0, cleared.err);
    const json = JSON.parse(cleared.out) as ServiceJson;
    assert.deepEqual([json.match, json.stickiness, json.stable.version], [{ pathPrefix: '/store' }, { cookie: 'tern_uid' }, 'v1.1']);

    const file = path.join(dir, 'patch.json');
    await writeFile(file, JSON.stringify({ stickiness: { cookie: 'sid' } }));
    const fromFile = await tern('service', 'update', 'shop', '--file', file);
    assert.equal(fromFile.code, 0, fromFile.err);
    assert.deepEqual((await service('shop')).stickiness, { cookie: 'sid' });
  });

  it('service update refuses nothing to change, an empty match and a bad value', async () => {
    const nothing = await tern('service', 'update', 'shop');
    assert.equal(nothing.code, 2);
    assert.match(nothing.err, /nothing to change: give --host, --path-prefix/);
    const empty = await tern('service', 'update', 'shop', '--path-prefix', '');
    assert.equal(empty.code, 2);
    assert.match(empty.err, /must match on a host, a path prefix or both/);
    const bad = await tern('service', 'update', 'shop', '--path-prefix', 'no-slash');
    assert.equal(bad.code, 4);
    assert.match(bad.err, /TERN_VALIDATION|pathPrefix/);
    assert.deepEqual((await service('shop')).match, { pathPrefix: '/store' });
  });

  it('service rules add, list and remove header and cookie rules in order', async () => {
    const none = await tern('service', 'rules', 'list', 'shop');
    assert.equal(none.code, 0, none.err);
    assert.match(none.err, /shop has no match rules/);

    const a = await tern('service', 'rules', 'add', 'shop', '--header', 'X-Tester', '--equals', '1');
    assert.equal(a.code, 0, a.err);
    assert.match(a.out, /^Rule 1 added to shop: header x-tester equals "1" → canary\.$/m);
    const b = await tern('service', 'rules', 'add', 'shop', '--cookie', 'beta', '--regex', '^(yes|on)$', '--target', 'stable');
    assert.equal(b.code, 0, b.err);
    assert.deepEqual((await service('shop')).rules, [
      { header: 'x-tester', equals: '1', target: 'canary' },
      { cookie: 'beta', regex: '^(yes|on)$', target: 'stable' },
    ]);

    const list = await tern('service', 'rules', 'list', 'shop');
    assert.equal(list.code, 0, list.err);
    assert.deepEqual(list.out.split('\n'), [
      '#  WHEN             TEST                  TARGET',
      '1  header x-tester  equals "1"            canary',
      '2  cookie beta      matches /^(yes|on)$/  stable',
    ]);

    const gone = await tern('service', 'rules', 'remove', 'shop', '1');
    assert.equal(gone.code, 0, gone.err);
    assert.match(gone.out, /^Rule 1 removed from shop: header x-tester equals "1" → canary\.$/m);
    assert.deepEqual((await service('shop')).rules, [{ cookie: 'beta', regex: '^(yes|on)$', target: 'stable' }]);
    const json = await tern('service', 'rules', 'list', 'shop', '-o', 'json');
    assert.deepEqual(JSON.parse(json.out), { service: 'shop', rules: [{ cookie: 'beta', regex: '^(yes|on)$', target: 'stable' }] });
  });

  it('service rules refuses a rule that is not one test of one header or cookie, and a number out of range (exit 2)', async () => {
    const both = await tern('service', 'rules', 'add', 'shop', '--header', 'a', '--cookie', 'b', '--equals', '1');
    assert.equal(both.code, 2);
    assert.match(both.err, /exactly one of --header NAME or --cookie NAME/);
    const noTest = await tern('service', 'rules', 'add', 'shop', '--header', 'a');
    assert.equal(noTest.code, 2);
    assert.match(noTest.err, /exactly one of --equals VALUE or --regex PATTERN/);
    const target = await tern('service', 'rules', 'add', 'shop', '--header', 'a', '--equals', '1', '--target', 'v2');
    assert.equal(target.code, 2);
    assert.match(target.err, /Allowed choices are canary, stable/);
    const range = await tern('service', 'rules', 'remove', 'shop', '5');
    assert.equal(range.code, 2);
    assert.match(range.err, /shop has no rule 5; expected a number from 1 to 1/);
    assert.equal((await service('shop')).rules.length, 1);
  });

  it('release logs prints each started instance under a heading, or says there are none', async () => {
    const id = await serviceWithRelease(h, 'cart');
    const empty = await tern('release', 'logs', id);
    assert.equal(empty.code, 0, empty.err);
    assert.equal(empty.out, '');
    assert.match(empty.err, /has no started instances/);

    const logFile = path.join(dir, 'cart-0.log');
    await writeFile(logFile, ['booting', 'listening on 9101', 'GET /healthz 200'].join('\n') + '\n');
    const deployment = {
      driver: 'process' as const,
      state: 'ready' as const,
      retiredAt: null,
      instances: [{ index: 0, pid: 4242, port: 9101, endpoint: 'http://127.0.0.1:9101', logFile, startedAt: Date.now() }],
    };
    await h.store.updateRelease(id, (r) => ({ ...r, deployment }), {
      actor: 'test',
      source: null,
      action: 'test.deploy',
      target: `release/${id}`,
      outcome: 'success',
      reason: null,
      detail: null,
    } as never);
    const logs = await tern('release', 'logs', id, '--lines', '2');
    assert.equal(logs.code, 0, logs.err);
    assert.equal(
      logs.out,
      ['== instance 0 (pid 4242, http://127.0.0.1:9101, ready) ==', 'listening on 9101', 'GET /healthz 200'].join('\n'),
    );
    const json = await tern('release', 'logs', id, '-o', 'json');
    assert.deepEqual((JSON.parse(json.out) as { instances: Array<{ lines: string[] }> }).instances[0]?.lines, [
      'booting',
      'listening on 9101',
      'GET /healthz 200',
    ]);
    const bad = await tern('release', 'logs', id, '--lines', '0');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /expected a whole number from 1 to 1000/);
  });
});
