/**
 * The Router contract (src/providers/routers/contract.ts) against HAProxy: a real haproxy 2.6
 * in master-worker mode, on a free port, driven through HaproxyRouter — the same cases, the
 * same users and the same buckets as the built-in gateway and NGINX.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { startHaproxyDataPlane } from '../src/providers/routers/haproxy/data-plane.js';
import { routerContract } from '../src/providers/routers/contract.js';
import { freePort } from './support/monitoring.js';

function haveHaproxy(): boolean {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// In CI the binary is installed by .ci/run: the suite must run there, never skip.
if (haveHaproxy() || process.env.CI !== undefined) {
  routerContract('haproxy', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tern-haproxy-contract-'));
    const port = await freePort();
    const plane = await startHaproxyDataPlane({
      name: 'contract',
      dir,
      listen: { host: '127.0.0.1', port },
      evidence: false,
      logger: pino({ level: 'warn' }),
    });
    return {
      router: plane.router,
      url: `http://127.0.0.1:${port}`,
      close: async () => {
        await plane.close({ stopProxy: true });
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}
