import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openInstanceRegistry } from './instance-registry.js';

describe('instance registry', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const fresh = async (): Promise<string> => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tern-registry-'));
    dirs.push(dir);
    return path.join(dir, 'instances.json');
  };

  it('keeps what was added across a reopen, minus what was removed, written 0600', async () => {
    const file = await fresh();
    const registry = openInstanceRegistry(file);
    assert.deepEqual(await registry.list(), []);
    // Not awaited one by one: writes are serialised in call order.
    await Promise.all([
      registry.add([
        { releaseId: 'r1', index: 0, pid: 101 },
        { releaseId: 'r1', index: 1, pid: 102 },
      ]),
      registry.add([{ releaseId: 'r2', index: 0, pid: 201 }]),
      registry.remove('r1'),
    ]);
    assert.deepEqual(await openInstanceRegistry(file).list(), [{ releaseId: 'r2', index: 0, pid: 201 }]);
    const { mode } = await stat(file);
    assert.equal(mode & 0o777, 0o600);
  });

  it('reads a damaged or foreign file as an empty list and writes a good one over it', async () => {
    const file = await fresh();
    await writeFile(file, '{not json');
    const registry = openInstanceRegistry(file);
    assert.deepEqual(await registry.list(), []);
    await registry.add([{ releaseId: 'r', index: 0, pid: 7 }]);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), [{ releaseId: 'r', index: 0, pid: 7 }]);
    await writeFile(file, JSON.stringify([{ releaseId: 'ok', index: 0, pid: 1 }, { releaseId: 5 }, 'x']));
    assert.deepEqual(await openInstanceRegistry(file).list(), [{ releaseId: 'ok', index: 0, pid: 1 }]);
  });
});
