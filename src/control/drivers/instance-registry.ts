/**
 * The process driver's own list of the instances it started, kept in `<dataDir>/instances.json`.
 * The store records them on their release too, but deleting a service deletes its releases and
 * with them that record, while the processes would go on running; this list survives, so the
 * controller can stop instances whose release is gone. One controller process owns the file;
 * writes are serialised and atomic (temp file + rename), so a crash leaves the old or the new list.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';

export interface RegisteredInstance {
  readonly releaseId: string;
  readonly index: number;
  readonly pid: number;
}

export interface InstanceRegistry {
  /** Every listed instance (after the file has been read). */
  list(): Promise<readonly RegisteredInstance[]>;
  add(entries: readonly RegisteredInstance[]): Promise<void>;
  /** Drops every instance of `releaseId`. */
  remove(releaseId: string): Promise<void>;
}

/** The valid entries of the file's text; a damaged file (e.g. cut by a full disk) reads as none. */
function parse(text: string): RegisteredInstance[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(data)) return [];
  return data.filter(
    (e): e is RegisteredInstance =>
      typeof e === 'object' &&
      e !== null &&
      typeof (e as RegisteredInstance).releaseId === 'string' &&
      Number.isInteger((e as RegisteredInstance).index) &&
      Number.isInteger((e as RegisteredInstance).pid),
  );
}

/** Opens the list at `file`; a missing or unreadable file is an empty list. */
export function openInstanceRegistry(file: string): InstanceRegistry {
  let entries: RegisteredInstance[] = [];
  let chain: Promise<void> = readFile(file, 'utf8').then(
    (text) => {
      entries = parse(text);
    },
    () => undefined,
  );
  const update = (change: () => void): Promise<void> => {
    const next = chain.then(async () => {
      change();
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, `${JSON.stringify(entries)}\n`, { mode: 0o600 });
      await rename(temp, file);
    });
    chain = next.catch(() => undefined); // the caller hears of a failed write; later ones still run
    return next;
  };
  return {
    list: async () => {
      await chain;
      return [...entries];
    },
    add: (added) =>
      update(() => {
        entries = [...entries, ...added];
      }),
    remove: (releaseId) =>
      update(() => {
        entries = entries.filter((e) => e.releaseId !== releaseId);
      }),
  };
}
