/**
 * The server's webhook allow-list end to end (SSRF): `startServer({ webhookAllow })`,
 * as `tern server --webhook-allow` runs it, reaches the API's configuration check; a bad entry
 * stops the start (or the CLI) naming it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { buildProgram } from '../src/cli/program.js';
import { startServer } from '../src/main.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
const dataDir = async (): Promise<string> => {
  const d = await mkdtemp(path.join(tmpdir(), 'tern-allow-'));
  dirs.push(d);
  return d;
};

/** Starts a server, creates a service whose gate calls loopback, and answers the status. */
async function createWithLoopbackHook(webhookAllow?: string[]): Promise<{ status: number; body: string }> {
  const server = await startServer({
    dataDir: await dataDir(),
    host: '127.0.0.1',
    apiPort: 0,
    gatewayPort: 0,
    adminToken: 'allow-list-test-admin-token',
    logger: pino({ level: 'silent' }),
    ...(webhookAllow ? { webhookAllow } : {}),
  });
  try {
    const res = await fetch(`${server.apiUrl}/api/v1/services`, {
      method: 'POST',
      headers: { authorization: 'Bearer allow-list-test-admin-token', 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'pay',
        match: { pathPrefix: '/pay' },
        stable: { version: 'v1', endpoints: ['http://127.0.0.1:9001'] },
        webhooks: [{ type: 'pre-rollout', url: 'http://127.0.0.1:9/gate' }],
      }),
    });
    return { status: res.status, body: await res.text() };
  } finally {
    await server.close();
  }
}

describe('tern server --webhook-allow', () => {
  it('refuses a loopback webhook by default and accepts it once the admin allows the address', async () => {
    const refused = await createWithLoopbackHook();
    assert.equal(refused.status, 400, refused.body);
    assert.match(refused.body, /body\.webhooks\[0\]\.url: pre-rollout webhook .*destination refused: 127\.0\.0\.1 is a loopback address/);
    const allowed = await createWithLoopbackHook(['127.0.0.1']);
    assert.equal(allowed.status, 201, allowed.body);
  });

  it('a bad entry stops the start, naming it, in the options and on the command line', async () => {
    await assert.rejects(
      startServer({
        dataDir: await dataDir(),
        host: '127.0.0.1',
        apiPort: 0,
        gatewayPort: 0,
        logger: pino({ level: 'silent' }),
        webhookAllow: ['10.0.0.0/40'],
      }),
      /webhookAllow\[0\]: "10\.0\.0\.0\/40": the prefix length must be 0\.\.32/,
    );
    const program = buildProgram({ out: () => undefined, err: () => undefined });
    program.exitOverride();
    await assert.rejects(
      program.parseAsync(
        [
          'server',
          '--data-dir',
          await dataDir(),
          '--api-port',
          '0',
          '--gateway-port',
          '0',
          '--log-level',
          'silent',
          '--webhook-allow',
          'hooks.example',
          '--webhook-allow',
          'http://x/',
        ],
        { from: 'user' },
      ),
      /--webhook-allow\[1\]: "http:\/\/x\/" is not a host name, an IP address or a CIDR/,
    );
  });
});
