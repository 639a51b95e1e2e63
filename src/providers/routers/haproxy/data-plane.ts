/**
 * The HAProxy data plane assembled: the latency log receiver first (its port goes into the
 * config), then the router (adopting or starting HAProxy), then the counters read. What
 * `tern agent haproxy`, the bench and the tests start.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { HaproxyEvidence } from './evidence.js';
import { HaproxyRouter } from './router.js';

export interface HaproxyDataPlaneOptions {
  /** This data plane's name (its status and windows are keyed by it). */
  readonly name: string;
  /** Absolute state directory: config, maps, sockets, the applied table. */
  readonly dir: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly bin?: string;
  /** Deliver evidence (counters + sampled latency log); default true. */
  readonly evidence?: boolean;
  /** Log one request in N for latency (default 10). */
  readonly sampleEvery?: number;
  readonly healthPath?: string;
  /** Idle keep-alive timeout of client connections (default 75 s). */
  readonly keepAliveTimeoutMs?: number;
  /** HAProxy threads (`nbthread`); default one per CPU. */
  readonly threads?: number;
  readonly logger: Logger;
}

export interface HaproxyDataPlane {
  readonly router: HaproxyRouter;
  readonly source: HaproxyEvidence | null;
  /** Stops the agent side; HAProxy keeps serving (fail static) unless `stopProxy`. */
  close(options?: { readonly stopProxy?: boolean }): Promise<void>;
}

/** Starts (or adopts) HAProxy and its evidence. @throws HaproxyError when HAProxy cannot start. */
export async function startHaproxyDataPlane(opts: HaproxyDataPlaneOptions): Promise<HaproxyDataPlane> {
  const sampleEvery = opts.sampleEvery ?? 10;
  const logger = opts.logger;
  const portFile = join(opts.dir, 'log-port');
  const lastPort = Number((await readFile(portFile, 'utf8').catch(() => '0')).trim()) || 0;
  const source = opts.evidence === false ? null : await HaproxyEvidence.listen({ name: opts.name, sampleEvery, logger }, lastPort);
  if (source) await writeFile(portFile, `${source.port}\n`);
  let router: HaproxyRouter;
  try {
    router = await HaproxyRouter.open({
      dir: opts.dir,
      listen: opts.listen,
      logPort: source?.port ?? null,
      sampleEvery,
      logger,
      ...(opts.bin === undefined ? {} : { bin: opts.bin }),
      ...(opts.healthPath === undefined ? {} : { healthPath: opts.healthPath }),
      ...(opts.keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeoutMs: opts.keepAliveTimeoutMs }),
      ...(opts.threads === undefined ? {} : { threads: opts.threads }),
    });
  } catch (err) {
    await source?.close();
    throw err;
  }
  source?.attach(router);
  return {
    router,
    source,
    async close(options = {}) {
      await source?.close();
      if (options.stopProxy) await router.stopProxy(true);
      else await router.close();
    },
  };
}
