/**
 * The per-service state file njs reads on every request (njs-script.ts): a fixed tiny text
 * format, one value per line, cheaper to parse than JSON and small enough (~100 bytes) that the
 * read is one page from the page cache:
 *
 *   <routing version>\n<weight bp>\n<salt|->\n<release id|->\n<sticky header|->\n<sticky cookie|->\n
 *   then one rule per line: <h|c>\t<name>\t<hex of the UTF-8 value, or * for presence>\t<c|s>
 *
 * Values are hex so a rule value can hold any byte (tabs, newlines) and njs compares it with the
 * bytes the client sent. Files are replaced atomically (write a temp file, rename), so a request
 * reads either the old or the new file, never half of one.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RouteEntry } from '../../../core/types.js';
import { DEFAULT_STICKY_COOKIE } from '../../../gateway/route-table.js';

/** The state file's text for one route at routing version `version`. */
export function renderStateFile(route: RouteEntry, version: number): string {
  const { canary, stickiness } = route;
  const header = stickiness.header ? stickiness.header.toLowerCase() : '-';
  const cookie = stickiness.cookie === '' ? '-' : (stickiness.cookie ?? DEFAULT_STICKY_COOKIE);
  const lines = [String(version), String(canary?.weight ?? 0), canary?.salt ?? '-', canary?.releaseId ?? '-', header, cookie];
  for (const rule of route.rules) {
    const source = rule.header !== undefined ? 'h' : 'c';
    const name = rule.header !== undefined ? rule.header.toLowerCase() : (rule.cookie ?? '');
    const value = rule.equals === undefined ? '*' : Buffer.from(rule.equals, 'utf8').toString('hex');
    lines.push(`${source}\t${name}\t${value}\t${rule.target === 'canary' ? 'c' : 's'}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Writes `text` to `dir/name` atomically (temp file in the same directory, then rename). */
export async function writeAtomically(dir: string, name: string, text: string): Promise<void> {
  const temp = path.join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(temp, text, { mode: 0o644 });
  try {
    await rename(temp, path.join(dir, name));
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** Writes every route's state file (each atomically). */
export async function writeStateFiles(dir: string, routes: readonly RouteEntry[], version: number): Promise<void> {
  for (const route of routes) await writeAtomically(dir, route.service, renderStateFile(route, version));
}

/** Removes state files (and stray temp files) of services not in `keep`. */
export async function removeStaleStateFiles(dir: string, keep: ReadonlySet<string>): Promise<void> {
  for (const name of await readdir(dir)) {
    if (!keep.has(name)) await rm(path.join(dir, name), { force: true });
  }
}
