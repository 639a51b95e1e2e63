import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStateFile, writeStateFile } from './state-file.js';
import { backoffDelay } from './sync.js';
import { parseRoutingTable } from './table-json.js';

describe('backoffDelay', () => {
  it('doubles from the base, stays within [ceiling/2, ceiling], and is capped', () => {
    assert.equal(
      backoffDelay(1, 100, 10_000, () => 0),
      50,
    );
    assert.equal(
      backoffDelay(1, 100, 10_000, () => 1),
      100,
    );
    assert.equal(
      backoffDelay(4, 100, 10_000, () => 1),
      800,
    );
    assert.equal(
      backoffDelay(50, 100, 10_000, () => 1),
      10_000,
    );
    assert.equal(
      backoffDelay(50, 100, 10_000, () => 0),
      5_000,
    );
  });
});

describe('parseRoutingTable', () => {
  const good = {
    version: 3,
    weightScale: 10_000,
    routes: [
      {
        service: 's',
        match: { pathPrefix: '/' },
        stickiness: { cookie: 'tern_uid' },
        rules: [],
        stable: { version: 'v1', endpoints: ['http://a:1'] },
        canary: null,
      },
    ],
  };

  it('accepts the control plane shape', () => {
    assert.equal(parseRoutingTable(good).routes.length, 1);
  });

  it('names the first field that does not fit', () => {
    assert.throws(() => parseRoutingTable({ ...good, version: -1 }), /version/);
    assert.throws(() => parseRoutingTable({ ...good, weightScale: 100 }), /weightScale/);
    assert.throws(
      () => parseRoutingTable({ ...good, routes: [{ ...good.routes[0], stable: { version: 'v1' } }] }),
      /routes\[0\]\.stable\.endpoints/,
    );
    assert.throws(
      () => parseRoutingTable({ ...good, routes: [{ ...good.routes[0], canary: { version: 'v2', endpoints: [], weight: '5' } }] }),
      /canary\.weight/,
    );
    assert.throws(() => parseRoutingTable('nope'), /routing table/);
  });

  it("takes the canary's bucket hash as given, absent for tables from before issue 12, and refuses an unknown one", () => {
    const canary = { version: 'v2', endpoints: ['http://b:1'], weight: 500, salt: 's', releaseId: 'r' };
    const withCanary = (c: object) => ({ ...good, routes: [{ ...good.routes[0], canary: c }] });
    assert.equal(parseRoutingTable(withCanary({ ...canary, bucketHash: 'xxh32' })).routes[0]!.canary!.bucketHash, 'xxh32');
    assert.equal(parseRoutingTable(withCanary({ ...canary, bucketHash: 'murmur3' })).routes[0]!.canary!.bucketHash, 'murmur3');
    assert.equal(parseRoutingTable(withCanary(canary)).routes[0]!.canary!.bucketHash, undefined);
    assert.throws(
      () => parseRoutingTable(withCanary({ ...canary, bucketHash: 'xxh64' })),
      /routes\[0\]\.canary\.bucketHash: expected one of xxh32, murmur3/,
    );
  });
});

describe('state file', () => {
  it('round-trips a table and leaves no temp file behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tern-state-'));
    try {
      const file = join(dir, 'table.json');
      assert.equal(await readStateFile(file), null);
      await writeStateFile(file, { version: 1, routes: [] });
      await writeStateFile(file, { version: 2, routes: [] });
      assert.equal((await readStateFile(file))?.version, 2);
      assert.deepEqual(await readdir(dir), ['table.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('startGateway options', () => {
  it('names the option that is out of range', async () => {
    const { startGateway } = await import('./gateway.js');
    await assert.rejects(startGateway({ host: '127.0.0.1', port: 70_000 }), /port: expected an integer from 0 to 65535/);
    await assert.rejects(startGateway({ host: '127.0.0.1', port: 0, controlPlane: { url: 'cp:7070', token: 't' } }), /controlPlane\.url/);
    await assert.rejects(startGateway({ host: '127.0.0.1', port: 0, healthCheck: { path: 'healthz' } }), /healthCheck\.path/);
    await assert.rejects(startGateway({ host: '127.0.0.1', port: 0, outlier: { consecutiveFailures: 0 } }), /outlier\.consecutiveFailures/);
  });
});
