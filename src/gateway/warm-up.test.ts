import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../core/errors.js';
import { route, silent, startBackend, table, client } from '../../test/fixtures/gateway-harness.js';
import { DEFAULT_POOL_SETTINGS } from './endpoints.js';
import { startGateway } from './gateway.js';
import { defaultLimits } from './limits.js';
import { warmUp } from './warm-up.js';

describe('gateway warm-up', () => {
  it('serves the requested number of requests through the proxy path on a private port', async () => {
    const warm = await warmUp(120, { pool: DEFAULT_POOL_SETTINGS, limits: defaultLimits(), logger: silent });
    assert.equal(warm.requests, 120);
  });

  it('reaches no real endpoint and counts nothing, and the gateway then serves users as usual', async () => {
    const backend = await startBackend('v1');
    const gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      admin: false,
      logger: silent,
      warmUpRequests: 200,
      initialTable: table(1, route({ stable: [backend.url] })),
    });
    const users = client(2);
    try {
      assert.equal(backend.seen.length, 0, 'the warm-up never reaches an endpoint of the table');
      assert.deepEqual(
        gw.metrics.totals().filter((t) => t.requests > 0),
        [],
        'no warm-up request is counted against a version',
      );
      const res = await users.get(`${gw.url}/x`);
      assert.equal(res.status, 200);
      assert.equal(backend.seen.length, 1);
      assert.equal(
        gw.metrics.totals().reduce((n, t) => n + t.requests, 0),
        1,
      );
    } finally {
      await users.agent.close();
      await gw.close();
      await backend.close();
    }
  });

  it('refuses a negative or absurd request count at the door', async () => {
    for (const warmUpRequests of [-1, 1.5, 1_000_000]) {
      const started = startGateway({ host: '127.0.0.1', port: 0, admin: false, logger: silent, warmUpRequests });
      await assert.rejects(
        started.then(async (gw) => void (await gw.close())),
        ValidationError,
        String(warmUpRequests),
      );
    }
  });
});
