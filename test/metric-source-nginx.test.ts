/**
 * The MetricSource contract against NGINX: a real nginx (with njs, free port) driven by
 * NginxRouter with evidence on, carrying release rel-metric-contract (`x-version` match rules
 * pick v1 or v2), its buffered access log (flushed every second) tailed by
 * NginxAccessLogSource. NGINX times requests in whole milliseconds: 2% plus the millisecond is
 * the resolution. A re-read is a fresh source over the same log (a restarted agent re-reads the
 * tail it may not have pushed).
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { metricSourceContract } from '../src/providers/metrics/contract.js';
import { NginxAccessLogSource } from '../src/providers/metrics/nginx-access-log.js';
import { nginxPlace, openRouter, route } from './support/nginx.js';

function haveNginx(): boolean {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// In CI the binary is installed by .ci/run: the suite must run there, never skip.
if (haveNginx() || process.env.CI !== undefined) {
  metricSourceContract('nginx-access-log', async ({ releaseId, backends }) => {
    const place = await nginxPlace();
    const router = await openRouter(place, { evidence: true });
    await router.apply({
      version: 1,
      routes: [
        route('shop', backends.v1, {
          url: backends.v2,
          weight: 0,
          releaseId,
          rules: [
            { header: 'x-version', equals: 'v2', target: 'canary' },
            { header: 'x-version', equals: 'v1', target: 'stable' },
          ],
        }),
      ],
    });
    const labelOf = (release: string, side: string): string | null => (release === releaseId ? (side === 'c' ? 'v2' : 'v1') : null);
    const open = (): NginxAccessLogSource => new NginxAccessLogSource({ name: 'nginx-contract', file: router.accessLogPath(), labelOf });
    const source = open();
    let settledAt = Date.now();
    return {
      source,
      url: place.url,
      windowMs: 1000,
      // Whole milliseconds on a 60 ms answer (under 2%), then the 1% histogram.
      resolution: { relativeError: 0.03 },
      settle: async () => {
        await sleep(4000); // the 1 s log flush and the source's 2.5 s grace
        settledAt = Date.now();
        return source.drainWindows(settledAt);
      },
      reread: async () => {
        const again = open();
        const windows = again.drainWindows(settledAt);
        await again.close();
        return windows;
      },
      close: async () => {
        await source.close();
        await router.close();
        await router.stopNginx(false);
        rmSync(place.stateDir, { recursive: true, force: true });
      },
    };
  });
}
