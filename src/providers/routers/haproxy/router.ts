/**
 * HaproxyRouter: the Router for HAProxy 2.6. `apply` renders the table
 * (config.ts); when the structure is unchanged it changes the running HAProxy over the runtime
 * API only — servers joining a backend added and enabled (servers.ts), then the map files
 * HAProxy holds in memory (weights and salts with `set map`, rule maps atomically with
 * `prepare/add/commit map`), then servers leaving disabled and deleted — so neither a release's
 * steps nor its start and end reload. A new service, match or rule header writes a new config,
 * checks it (`haproxy -c`) and reloads gracefully (process.ts).
 *
 * What was applied (table JSON, config, map files) lives in the working directory, so a
 * restarted agent adopts the running HAProxy and a restarted HAProxy comes back with the
 * same table (fail static). `appliedVersion()` moves only once HAProxy answered the change.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RoutingTable } from '../../../core/types.js';
import { readStateFile, writeStateFile } from '../../../gateway/state-file.js';
import type { Router, RouterFeatures } from '../router.js';
import { mapFileText, renderConfig, type MapFiles, type Rendered, type RenderOptions } from './config.js';
import { HaproxyProcess, haproxyPaths } from './process.js';
import { runtimeAction } from './runtime-api.js';
import { enableServers, retireServers } from './servers.js';

/** How often servers disabled while still finishing requests are tried for deletion again. */
const SWEEP_MS = 5_000;

export const HAPROXY_FEATURES: RouterFeatures = { regexRules: false, equalsRules: true, websocket: true, bucketHashes: ['xxh32'] };

export interface HaproxyRouterOptions extends Omit<RenderOptions, 'dir'> {
  /** Absolute working (state) directory. */
  readonly dir: string;
  /** The haproxy binary; default `haproxy`. */
  readonly bin?: string;
  readonly logger: Logger;
}

const EMPTY: RoutingTable = { version: 0, routes: [] };

async function writeAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, text, { mode: 0o600 });
  await rename(temp, path);
}

/** `set map` commands for the entries of `next` that differ from `prev` (same keys: same structure). */
function setCommands(
  path: string,
  prev: ReadonlyArray<readonly [string, string]>,
  next: ReadonlyArray<readonly [string, string]>,
): string[] {
  const old = new Map(prev);
  return next.filter(([k, v]) => old.get(k) !== v).map(([k, v]) => `set map ${path} ${k} ${v}`);
}

/** Backends whose server list differs between two renderings of the same structure. */
function changedBackends(prev: Rendered, next: Rendered): string[] {
  const names = (r: Rendered, b: string): string => (r.servers.get(b) ?? []).map((s) => s.name).join(',');
  return [...next.servers.keys()].filter((b) => names(prev, b) !== names(next, b));
}

function sameEntries(a: ReadonlyArray<readonly [string, string]> = [], b: ReadonlyArray<readonly [string, string]> = []): boolean {
  return a.length === b.length && a.every(([k, v], i) => b[i]?.[0] === k && b[i]?.[1] === v);
}

export class HaproxyRouter implements Router {
  readonly kind = 'haproxy' as const;
  readonly features = HAPROXY_FEATURES;
  readonly #opts: HaproxyRouterOptions;
  readonly #log: Logger;
  #proc: HaproxyProcess;
  #applied: { table: RoutingTable; rendered: Rendered };
  #queue: Promise<unknown> = Promise.resolve();
  /** Disk writes of what is in force (table JSON, map files), behind the apply: a slow fsync never delays a step. */
  #persisting: Promise<void> = Promise.resolve();
  #sweepTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(opts: HaproxyRouterOptions, proc: HaproxyProcess, applied: { table: RoutingTable; rendered: Rendered }) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.#proc = proc;
    this.#applied = applied;
  }

  /**
   * Adopts the HAProxy running in `dir` or starts one, on the table last applied there (none: an
   * empty table, every request answered 404 until the first apply).
   * @throws HaproxyError when HAProxy cannot be started or its state cannot be restored.
   */
  static async open(opts: HaproxyRouterOptions): Promise<HaproxyRouter> {
    const table = (await readStateFile(HaproxyRouter.statePath(opts.dir))) ?? EMPTY;
    const rendered = renderConfig(table, { ...opts });
    const procOpts = { bin: opts.bin ?? 'haproxy', dir: opts.dir, logger: opts.logger };
    const paths = haproxyPaths(opts.dir);
    const adopted = await HaproxyProcess.adopt(procOpts);
    const running = adopted ? await readFile(paths.config, 'utf8').catch(() => '') : '';
    await HaproxyRouter.#writeMaps(opts.dir, rendered.maps);
    if (adopted && running === rendered.config) {
      // Same config: put the table's servers and map values in force (a no-op unless the last agent died mid-apply).
      const router = new HaproxyRouter(opts, adopted, { table, rendered });
      await router.#runtimeChange(null, rendered, [...rendered.servers.keys()]);
      opts.logger.info({ masterPid: adopted.masterPid, version: table.version }, 'adopted the running haproxy');
      return router;
    }
    await writeAtomic(paths.config, rendered.config);
    await HaproxyProcess.check(procOpts.bin, paths.config);
    let proc: HaproxyProcess;
    if (adopted) {
      // Written by another renderer (an older agent, other flags): a graceful reload puts ours in force.
      proc = adopted;
      await proc.reload();
      opts.logger.info({ masterPid: proc.masterPid, version: table.version }, 'adopted the running haproxy and reloaded it');
    } else {
      proc = await HaproxyProcess.start(procOpts);
      opts.logger.info({ masterPid: proc.masterPid, version: table.version }, 'started haproxy');
    }
    return new HaproxyRouter(opts, proc, { table, rendered });
  }

  static statePath(dir: string): string {
    return join(dir, 'table.json');
  }

  static async #writeMaps(dir: string, maps: MapFiles): Promise<void> {
    for (const [name, entries] of maps) await writeAtomic(join(dir, name), mapFileText(entries));
  }

  get masterPid(): number {
    return this.#proc.masterPid;
  }

  get adminSocket(): string {
    return this.#proc.adminSocket;
  }

  get process(): HaproxyProcess {
    return this.#proc;
  }

  /** The table in force and its rendering (backends → service and role, for the evidence). */
  current(): { readonly table: RoutingTable; readonly rendered: Rendered } {
    return this.#applied;
  }

  appliedVersion(): number {
    return this.#applied.table.version;
  }

  apply(table: RoutingTable): Promise<void> {
    const next = this.#queue.then(() => this.#apply(table));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #apply(table: RoutingTable): Promise<void> {
    const rendered = renderConfig(table, { ...this.#opts });
    const prev = this.#applied.rendered;
    const dir = this.#opts.dir;
    if (rendered.structure === prev.structure) await this.#runtimeChange(prev, rendered, changedBackends(prev, rendered));
    else {
      const paths = haproxyPaths(dir);
      await this.#persisting;
      await HaproxyRouter.#writeMaps(dir, rendered.maps);
      const candidate = `${paths.config}.next`;
      await writeFile(candidate, rendered.config, { mode: 0o600 });
      try {
        await HaproxyProcess.check(this.#opts.bin ?? 'haproxy', candidate);
      } catch (err) {
        await HaproxyRouter.#writeMaps(dir, prev.maps);
        throw err;
      }
      await rename(candidate, paths.config);
      await this.#proc.reload();
      this.#log.info({ version: table.version }, 'haproxy reloaded with a new structure');
    }
    this.#applied = { table, rendered };
    this.#persist(prev, rendered, table);
  }

  /**
   * Puts `next` in force in the running HAProxy without a reload: servers joining `backends`
   * first, then the map values, then servers leaving (a server still finishing requests is
   * deleted by a later sweep). `prev` null: whatever HAProxy holds (an adopted process).
   */
  async #runtimeChange(prev: Rendered | null, next: Rendered, backends: readonly string[]): Promise<void> {
    const socket = this.#proc.adminSocket;
    try {
      if (backends.length > 0) await enableServers(socket, next, backends);
      await this.#updateMaps(prev?.maps ?? new Map(), next.maps);
    } catch (err) {
      // Refused halfway: put the previous table's servers and values back, so it stays in force whole.
      if (prev !== null)
        await this.#runtimeChange(null, prev, backends).catch((undo: unknown) =>
          this.#log.error({ err: undo }, 'could not restore the previous servers after a refused change'),
        );
      throw err;
    }
    if (backends.length > 0 && (await retireServers(socket, next, backends)) > 0) this.#scheduleSweep();
  }

  /** Tries again, later, to delete servers that were still finishing requests (serialised with applies). */
  #scheduleSweep(): void {
    if (this.#sweepTimer !== undefined || this.#closed) return;
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = undefined;
      this.#queue = this.#queue
        .then(async () => {
          const { rendered } = this.#applied;
          if ((await retireServers(this.#proc.adminSocket, rendered, [...rendered.servers.keys()])) > 0) this.#scheduleSweep();
        })
        .catch((err: unknown) => this.#log.warn({ err }, 'could not delete retired haproxy servers; trying again later'));
    }, SWEEP_MS);
    this.#sweepTimer.unref();
  }

  /** Writes the table, the changed map files and a changed config after the change is in force (serialised; a failure is logged, the next apply writes again). */
  #persist(prev: Rendered, next: Rendered, table: RoutingTable): void {
    const dir = this.#opts.dir;
    this.#persisting = this.#persisting
      .then(async () => {
        for (const [name, entries] of next.maps)
          if (!sameEntries(prev.maps.get(name), entries)) await writeAtomic(join(dir, name), mapFileText(entries));
        // Servers changed at runtime: the next reload or restart must create the same ones.
        if (next.config !== prev.config) await writeAtomic(haproxyPaths(dir).config, next.config);
        await writeStateFile(HaproxyRouter.statePath(dir), table);
      })
      .catch((err: unknown) => this.#log.error({ err }, 'could not persist the applied table'));
  }

  /** Puts the new map values in force in the running worker, then on disk (for the next reload or restart). */
  async #updateMaps(prev: MapFiles, next: MapFiles): Promise<void> {
    const dir = this.#opts.dir;
    const commands: string[] = [];
    const replaced: string[] = [];
    for (const [name, entries] of next) {
      const path = join(dir, name);
      if (name.startsWith('rules-')) {
        if (!sameEntries(prev.get(name), entries)) replaced.push(name);
      } else commands.push(...setCommands(path, prev.get(name) ?? [], entries));
    }
    // A rule map is swapped whole and atomically: a request sees the old or the new rule set.
    for (const name of replaced) {
      const path = join(dir, name);
      const answer = await runtimeAction(this.#proc.adminSocket, `prepare map ${path}`);
      const ver = /version created:\s*(\d+)/i.exec(answer)?.[1];
      if (ver === undefined) throw new Error(`unexpected "prepare map" answer: ${answer.trim()}`);
      const adds = (next.get(name) ?? []).map(([k, v]) => `add map @${ver} ${path} ${k} ${v}`);
      await runtimeAction(this.#proc.adminSocket, [...adds, `commit map @${ver} ${path}`].join(';'));
    }
    if (commands.length > 0) await runtimeAction(this.#proc.adminSocket, commands.join(';'));
  }

  /** Stops driving HAProxy, which keeps serving the last table (fail static). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    await this.#queue;
    await this.#persisting;
  }

  /** Stops HAProxy itself (tests, `tern demo`, the bench): `graceful` lets requests in flight finish. */
  async stopProxy(graceful = false): Promise<void> {
    await this.close();
    await this.#proc.stop(graceful);
  }
}
