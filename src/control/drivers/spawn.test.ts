/** Command lines split into argv without a shell; placeholders fill in; a stopped group is gone. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { groupAlive, stopGroup } from './process-group.js';
import { expand, splitCommand } from './spawn.js';

describe('splitCommand / expand', () => {
  it('splits on whitespace, keeps quoted words whole, and never interprets shell syntax', () => {
    assert.deepEqual(splitCommand(`node  app.js --port {port} --name "my app" 'a b' x\\ y`), [
      'node',
      'app.js',
      '--port',
      '{port}',
      '--name',
      'my app',
      'a b',
      'x y',
    ]);
    assert.deepEqual(splitCommand('echo $(rm -rf /) ; ls'), ['echo', '$(rm', '-rf', '/)', ';', 'ls']);
    assert.deepEqual(splitCommand('a ""'), ['a', '']);
    assert.throws(() => splitCommand('node "app.js'), /unbalanced/);
  });

  it('fills {port} and {version}', () => {
    assert.equal(expand('--port={port} --v {version}', { port: 8123, version: 'v2.1' }), '--port=8123 --v v2.1');
  });
});

describe('stopGroup', () => {
  it('terminates a process group, and kills one that ignores SIGTERM after the grace period', async () => {
    const stubborn = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], {
      detached: true,
      stdio: 'ignore',
    });
    const polite = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(groupAlive(stubborn.pid!) && groupAlive(polite.pid!));
    assert.equal(await stopGroup(polite.pid!, 2000), 'terminated');
    assert.equal(await stopGroup(stubborn.pid!, 300), 'killed');
    assert.ok(!groupAlive(stubborn.pid!) && !groupAlive(polite.pid!));
    assert.equal(await stopGroup(polite.pid!, 100), 'gone');
  });
});
