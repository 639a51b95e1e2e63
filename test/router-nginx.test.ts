/**
 * The Router contract (src/providers/routers/contract.ts) against NGINX: a real nginx 1.22 with
 * njs, on a free port, driven through NginxRouter — the same cases, the same users and the
 * same buckets as the built-in gateway and HAProxy.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { routerContract } from '../src/providers/routers/contract.js';
import { nginxPlace, openRouter } from './support/nginx.js';

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
  routerContract('nginx', async () => {
    const place = await nginxPlace();
    const router = await openRouter(place, { evidence: false });
    return {
      router,
      url: place.url,
      close: async () => {
        await router.close();
        await router.stopNginx(false);
        rmSync(place.stateDir, { recursive: true, force: true });
      },
    };
  });
}
