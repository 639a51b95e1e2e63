/**
 * NginxRouter: drives NGINX 1.22 + njs 0.7 as a Tern data plane.
 *
 * A table is applied in two tiers. Weights, salts, releases and rules go to per-service state
 * files njs reads on every request (state-file.ts), replaced atomically: no reload, in force for
 * the next request. Only a structural change (a service, match, endpoint set or version label)
 * rewrites nginx.conf (config.ts), checks it with `nginx -t` and reloads gracefully.
 *
 * `apply` resolves once NGINX itself reports the table: the control server answers, on a fresh
 * connection, the config generation and the lowest routing version njs reads from the state
 * files. The applied table is persisted in the state dir, so a restarted agent re-renders
 * byte-identical files and NGINX — which runs as a daemon and keeps serving while the agent is
 * away (fail static) — sees no change at all.
 */
import { createServer } from 'node:net';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { DataPlaneUnsupportedError, TernError } from '../../../core/errors.js';
import type { RoutingTable } from '../../../core/types.js';
import { parseRoutingTable } from '../../../gateway/table-json.js';
import { missingFeatures, type Router, type RouterFeatures } from '../router.js';
import { renderNginxConfig, type NginxConfigOptions } from './config.js';
import { njsScript } from './njs-script.js';
import { NginxProcess } from './process.js';
import { removeStaleStateFiles, writeAtomically, writeStateFiles } from './state-file.js';
import { ReleaseLabels } from './release-labels.js';

export const NGINX_FEATURES: RouterFeatures = {
  regexRules: false,
  equalsRules: true,
  websocket: true,
  bucketHashes: ['xxh32'],
};

export interface NginxRouterOptions {
  /** Agent state: `applied.json`, `agent.json`, and NGINX's working directory `nginx/`. */
  readonly stateDir: string;
  /** `host:port` for user traffic. */
  readonly listen: string;
  readonly bin?: string;
  readonly njsModule?: string;
  /** Loopback port of the control server (default: the one persisted, else a free one). */
  readonly controlPort?: number;
  /** NGINX worker processes (default 1). */
  readonly workers?: number;
  /** Write the evidence access log (default true). */
  readonly evidence?: boolean;
  readonly exposeVersionHeader?: boolean;
  readonly logger: Logger;
  /** The services this data plane carries (default every service in the table). */
  readonly services?: readonly string[];
  /** Longest wait for NGINX to report a table (default 10 s). */
  readonly applyTimeoutMs?: number;
}

const EMPTY: RoutingTable = { version: 0, routes: [] };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch {
    return null;
  }
}

export class NginxRouter implements Router {
  readonly kind = 'nginx' as const;
  readonly features = NGINX_FEATURES;
  /** Version labels of every release applied, for the evidence log. */
  readonly labels = new ReleaseLabels();
  readonly #opts: NginxRouterOptions;
  readonly #config: NginxConfigOptions;
  readonly #nginx: NginxProcess;
  readonly #live: string;
  #table: RoutingTable = EMPTY;
  #confText = '';
  #generation = '';
  #applied = 0;
  #queue: Promise<void> = Promise.resolve();
  readonly #latencies: number[] = [];

  private constructor(opts: NginxRouterOptions, config: NginxConfigOptions) {
    this.#opts = opts;
    this.#config = config;
    this.#live = path.join(config.dir, 'live');
    this.#nginx = new NginxProcess({ bin: opts.bin ?? 'nginx', dir: config.dir, controlPort: config.controlPort });
  }

  /** Starts NGINX with the persisted table, or adopts the one already running for this state dir. */
  static async open(opts: NginxRouterOptions): Promise<NginxRouter> {
    const dir = path.join(opts.stateDir, 'nginx');
    for (const sub of ['live', 'tmp']) await mkdir(path.join(dir, sub), { recursive: true });
    // NGINX workers run as an unprivileged user when the master is root: they must reach live/.
    for (const d of [opts.stateDir, dir, path.join(dir, 'live')]) await chmod(d, 0o755);
    const meta = (await readJson(path.join(opts.stateDir, 'agent.json'))) as { controlPort?: number } | null;
    const controlPort = opts.controlPort ?? meta?.controlPort ?? (await freePort());
    await writeFile(path.join(opts.stateDir, 'agent.json'), `${JSON.stringify({ controlPort })}\n`);
    const router = new NginxRouter(opts, {
      dir,
      listen: opts.listen,
      controlPort,
      workers: opts.workers ?? 1,
      evidence: opts.evidence ?? true,
      exposeVersionHeader: opts.exposeVersionHeader ?? false,
      ...(opts.njsModule === undefined ? {} : { njsModule: opts.njsModule }),
    });
    await router.#start();
    return router;
  }

  async #start(): Promise<void> {
    const saved = await readJson(path.join(this.#opts.stateDir, 'applied.json'));
    let table = EMPTY;
    if (saved !== null) {
      try {
        table = parseRoutingTable(saved);
      } catch (err) {
        this.#opts.logger.warn({ err }, 'nginx agent: the persisted table is unreadable; starting empty');
      }
    }
    await writeAtomically(this.#config.dir, 'tern.js', njsScript(`${this.#live}/`));
    const { text, generation } = renderNginxConfig(table.routes, this.#config);
    await writeStateFiles(this.#live, table.routes, table.version);
    const confPath = path.join(this.#config.dir, 'nginx.conf');
    const onDisk = await readFile(confPath, 'utf8').catch(() => '');
    const running = (await this.#nginx.pid()) !== null;
    if (onDisk !== text) {
      await writeAtomically(this.#config.dir, 'nginx.conf', text);
      await this.#nginx.test(confPath);
      if (running) await this.#nginx.reload();
    }
    if (!running) await this.#nginx.start();
    this.#opts.logger.info({ dir: this.#config.dir, adopted: running, version: table.version }, 'nginx agent: nginx serving');
    this.#confText = text;
    this.#generation = generation;
    this.#table = table;
    this.labels.note(table);
    await this.#awaitNginx(table.version);
    await removeStaleStateFiles(this.#live, new Set(table.routes.map((r) => r.service)));
    this.#applied = table.version;
  }

  appliedVersion(): number {
    return this.#applied;
  }

  /** The table NGINX executes now. */
  table(): RoutingTable {
    return this.#table;
  }

  /** Milliseconds from `apply()` to NGINX reporting the table, for the last applies (at most 1,000). */
  applyLatencies(): readonly number[] {
    return this.#latencies;
  }

  /** Where NGINX writes the evidence access log. */
  accessLogPath(): string {
    return path.join(this.#config.dir, 'access.log');
  }

  /** Master and worker pids. */
  pids(): Promise<number[]> {
    return this.#nginx.pids();
  }

  /** Port of the control server (`/tern/applied`, `/tern/bucket`). */
  controlPort(): number {
    return this.#config.controlPort;
  }

  apply(table: RoutingTable): Promise<void> {
    const next = this.#queue.then(() => this.#apply(table));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #apply(full: RoutingTable): Promise<void> {
    const started = performance.now();
    const only = this.#opts.services;
    const table = only === undefined ? full : { version: full.version, routes: full.routes.filter((r) => only.includes(r.service)) };
    for (const route of table.routes) {
      const missing = missingFeatures(route, this.features);
      if (missing.length > 0)
        throw new DataPlaneUnsupportedError(`nginx data plane cannot execute service ${route.service}: it needs ${missing.join(', ')}`);
    }
    const { text, generation } = renderNginxConfig(table.routes, this.#config);
    const structural = text !== this.#confText;
    if (structural) {
      const candidate = path.join(this.#config.dir, 'nginx.conf.next');
      await writeFile(candidate, text);
      await this.#nginx.test(candidate);
    }
    await writeStateFiles(this.#live, table.routes, table.version);
    try {
      if (structural) {
        await writeAtomically(this.#config.dir, 'nginx.conf', text);
        await this.#nginx.reload();
        this.#confText = text;
        this.#generation = generation;
      }
      await this.#awaitNginx(table.version);
    } catch (err) {
      await writeStateFiles(this.#live, this.#table.routes, this.#table.version);
      throw err;
    }
    await removeStaleStateFiles(this.#live, new Set(table.routes.map((r) => r.service)));
    this.#table = table;
    this.labels.note(table);
    this.#applied = table.version;
    await writeAtomically(this.#opts.stateDir, 'applied.json', `${JSON.stringify(table)}\n`);
    this.#latencies.push(performance.now() - started);
    if (this.#latencies.length > 1000) this.#latencies.shift();
    this.#opts.logger.info(
      { version: table.version, structural, ms: Math.round(performance.now() - started) },
      'nginx agent: table applied',
    );
  }

  async #awaitNginx(version: number): Promise<void> {
    const deadline = Date.now() + (this.#opts.applyTimeoutMs ?? 10_000);
    let last: unknown;
    for (;;) {
      try {
        const seen = await this.#nginx.probe();
        if (seen.generation === this.#generation && (version === 0 || seen.version >= version)) return;
        last = seen;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline)
        throw new TernError(
          'TERN_INTERNAL',
          `nginx did not report routing version ${version} within the apply timeout (last answer: ${last instanceof Error ? last.message : JSON.stringify(last)}; a 500 usually means the workers cannot read ${this.#live}: when NGINX runs as root its workers run as an unprivileged user, so every directory above --state-dir must be traversable)`,
        );
      await sleep(5);
    }
  }

  /** Stops driving NGINX; it keeps serving the last table (fail static). */
  async close(): Promise<void> {
    await this.#queue;
  }

  /** Stops NGINX itself (tests, the bench, `tern demo`): graceful by default. */
  async stopNginx(graceful = true): Promise<void> {
    await this.#queue;
    await this.#nginx.stop(graceful);
  }
}
