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
import { mapFileText, renderConfig, SALTS_MAP, WEIGHTS_MAP, type MapFiles, type Rendered, type RenderOptions } from './config.js';
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
  /** Backends holding servers disabled but not yet deleted (still finishing requests). */
  readonly #retiring = new Set<string>();
  /** A refused change could not be undone: the next change syncs every backend and map from HAProxy's state. */
  #unsynced = false;
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
      this.#unsynced = false; // the new worker runs exactly the written config
      this.#retiring.clear();
      this.#log.info({ version: table.version }, 'haproxy reloaded with a new structure');
    }
    this.#applied = { table, rendered };
    this.#persist(prev, rendered, table);
  }

  /**
   * Puts `next` in force in the running HAProxy without a reload: servers joining `backends`
   * first, then the map values, then servers leaving (a server still finishing requests is
   * deleted by a later sweep). `prev` null — an adopted process, or one a failed undo left in an
   * unknown state — syncs everything from what HAProxy reports.
   */
  async #runtimeChange(prev: Rendered | null, next: Rendered, backends: readonly string[]): Promise<void> {
    const socket = this.#proc.adminSocket;
    const from = this.#unsynced ? null : prev;
    const which = from === null ? [...next.servers.keys()] : backends;
    try {
      if (which.length > 0) await enableServers(socket, next, which);
      await this.#updateMaps(from?.maps ?? new Map(), next.maps);
    } catch (err) {
      // Refused halfway: put the previous table's servers and values back, so it stays in force whole.
      if (from !== null) {
        this.#unsynced = true;
        await this.#runtimeChange(null, from, which).catch((undo: unknown) =>
          this.#log.error({ err: undo }, 'could not restore the previous table after a refused change; the next change syncs all'),
        );
      }
      throw err;
    }
    this.#unsynced = false;
    // The maps moved: users are routed by `next`. Servers no user is sent to any more can wait for a sweep.
    await this.#retire(next, which);
  }

  /** Disables and deletes the servers `want` no longer has in `backends`; what cannot go yet is swept later. */
  async #retire(want: Rendered, backends: readonly string[]): Promise<void> {
    if (backends.length === 0) return;
    try {
      for (const b of await retireServers(this.#proc.adminSocket, want, backends)) this.#retiring.add(b);
    } catch (err) {
      this.#log.warn({ err }, 'could not retire haproxy servers yet; trying again');
      for (const b of backends) this.#retiring.add(b);
    }
    if (this.#retiring.size > 0) this.#scheduleSweep();
  }

  /** Tries again, later, to delete servers that were still finishing requests (serialised with applies). */
  #scheduleSweep(): void {
    if (this.#sweepTimer !== undefined || this.#closed) return;
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = undefined;
      this.#queue = this.#queue.then(async () => {
        const backends = [...this.#retiring];
        this.#retiring.clear();
        await this.#retire(this.#applied.rendered, backends);
      });
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

  /**
   * Puts the new map values in force in the running worker (then, in #persist, on disk). Salts go
   * before weights, so a release's start never buckets by its weight and the salt before; a salt
   * changing under a live weight (one release replaced by the next in a single table) first sets
   * that weight to -1 — its users on the stable version for that instant, never on a wrong bucket.
   */
  async #updateMaps(prev: MapFiles, next: MapFiles): Promise<void> {
    const dir = this.#opts.dir;
    const prevWeights = new Map(prev.get(WEIGHTS_MAP) ?? []);
    const prevSalts = new Map(prev.get(SALTS_MAP) ?? []);
    const pause = (next.get(SALTS_MAP) ?? [])
      .filter(([id, salt]) => prevSalts.has(id) && prevSalts.get(id) !== salt && Number(prevWeights.get(id) ?? -1) >= 0)
      .map(([id]) => `set map ${join(dir, WEIGHTS_MAP)} ${id} -1`);
    const commands: string[] = [...pause];
    const replaced: string[] = [];
    for (const [name, entries] of next) {
      const path = join(dir, name);
      if (name.startsWith('rules-')) {
        if (!sameEntries(prev.get(name), entries)) replaced.push(name);
      } else commands.push(...setCommands(path, pause.length > 0 && name === WEIGHTS_MAP ? [] : (prev.get(name) ?? []), entries));
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
