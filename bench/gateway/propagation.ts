/**
 * How fast a weight change reaches the data plane: a real control plane (API over
 * SQLite on a real port) and 4 gateways watching it; 100 weight changes through the API, each
 * timed from just before the API call until every gateway has applied the new table.
 * Prints p50, p99 and max in ms.   node --import tsx bench/gateway/propagation.ts
 */
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { startGateway, type Gateway } from '../../src/gateway/gateway.js';
import { startHarness } from '../../test/api-harness.js';

const silent = pino({ level: 'silent' });
const h = await startHarness();
await h.app.listen({ host: '127.0.0.1', port: 0 });
const url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
await h.call('POST', '/api/v1/services', {
  body: { name: 'shop', match: { pathPrefix: '/' }, stable: { version: 'v1', endpoints: ['http://127.0.0.1:9'] } },
});
const release = JSON.parse(
  (
    await h.call('POST', '/api/v1/services/shop/releases', {
      body: { version: 'v2', endpoints: ['http://127.0.0.1:10'], steps: [{ weight: 5, hold: '1h', analysis: false }, { weight: 100 }] },
    })
  ).body,
) as { id: string };
const gateways: Gateway[] = [];
for (let i = 0; i < 4; i++)
  gateways.push(
    await startGateway({ host: '127.0.0.1', port: 0, admin: false, logger: silent, controlPlane: { url, token: h.tokens.gateway } }),
  );
const routingVersion = async (): Promise<number> =>
  (JSON.parse((await h.call('GET', '/api/v1/dataplane/routing')).body) as { version: number }).version;

const delays: number[] = [];
for (let i = 0; i < 100; i++) {
  const started = performance.now();
  await h.call('PUT', `/api/v1/releases/${release.id}/weight`, { body: { weight: i % 2 ? 20 : 30 } });
  const target = await routingVersion();
  const deadline = started + 5000;
  while (!gateways.every((g) => g.tableVersion() >= target) && performance.now() < deadline) await new Promise((r) => setImmediate(r));
  delays.push(performance.now() - started);
}
delays.sort((a, b) => a - b);
console.log(
  `weight change to 4 gateways over 100 changes: p50 ${delays[49]!.toFixed(1)} ms  p99 ${delays[98]!.toFixed(1)} ms  max ${delays[99]!.toFixed(1)} ms`,
);
await Promise.all(gateways.map((g) => g.close()));
await h.close();
