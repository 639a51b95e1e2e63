/**
 * The MetricSource contract against the built-in gateway: a real gateway (startGateway, no
 * control plane, so nobody else drains it) carrying release rel-metric-contract, its v1/v2
 * picked by an `x-version` match rule, read through builtinMetricSource. The gateway times every
 * request into the 1% histogram (2% end to end, docs/analysis.md). A gateway window is drained
 * once; a lost push is retried with the same windows, which the suite replays.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway } from '../src/gateway/gateway.js';
import { builtinMetricSource } from '../src/providers/metrics/builtin.js';
import { metricSourceContract } from '../src/providers/metrics/contract.js';
import { route, silent, table } from './fixtures/gateway-harness.js';

metricSourceContract('builtin', async ({ releaseId, backends }) => {
  const gw = await startGateway({
    host: '127.0.0.1',
    port: 0,
    logger: silent,
    admin: false,
    initialTable: table(
      1,
      route({
        service: 'shop',
        header: 'x-user-id',
        stable: [backends.v1],
        canary: { endpoints: [backends.v2], weight: 0, releaseId },
        rules: [
          { header: 'x-version', equals: 'v2', target: 'canary' },
          { header: 'x-version', equals: 'v1', target: 'stable' },
        ],
      }),
    ),
  });
  const source = builtinMetricSource({ name: gw.id, metrics: gw.metrics });
  return {
    source,
    url: gw.url,
    windowMs: 1000,
    resolution: { relativeError: 0.02 },
    settle: async () => {
      await sleep(1200); // the second of the last request closes
      return source.drainWindows(Date.now());
    },
    reread: () => Promise.resolve(null),
    close: async () => {
      await source.close();
      await gw.close();
    },
  };
});
