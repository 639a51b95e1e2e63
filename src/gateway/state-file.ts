/**
 * The fail-static state file: the last routing table the gateway applied, so a gateway that
 * restarts while the control plane is down still routes (docs/data-planes.md, "Fail static").
 *
 * Writes are crash-safe: write a temp file in the same directory, fsync it, rename it over
 * the target (atomic on POSIX), then fsync the directory so the rename itself is durable.
 * Writes are serialised and coalesced: only the newest pending table is written.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RoutingTable } from '../core/types.js';
import { parseRoutingTable } from './table-json.js';

/** Reads and shape-checks the state file; null when it does not exist. @throws on unreadable or invalid content. */
export async function readStateFile(path: string): Promise<RoutingTable | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return parseRoutingTable(JSON.parse(text) as unknown);
}

async function fsyncPath(path: string, flags: string): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `table` to `path` atomically and durably. */
export async function writeStateFile(path: string, table: RoutingTable): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(JSON.stringify(table));
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  // Directory fsync is not supported everywhere (e.g. Windows); durability there is best effort.
  await fsyncPath(dirname(path), 'r').catch(() => undefined);
}

/** A writer that serialises writes and keeps only the newest pending table. */
export function stateFileWriter(path: string, onError: (err: unknown) => void): { save(t: RoutingTable): void; flush(): Promise<void> } {
  let pending: RoutingTable | null = null;
  let running: Promise<void> | null = null;
  const drain = async (): Promise<void> => {
    while (pending !== null) {
      const table = pending;
      pending = null;
      await writeStateFile(path, table).catch(onError);
    }
    running = null;
  };
  return {
    save(table) {
      pending = table;
      running ??= drain();
    },
    flush: () => running ?? Promise.resolve(),
  };
}
