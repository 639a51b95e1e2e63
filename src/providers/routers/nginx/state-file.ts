/**
 * The per-service state file njs reads on every request (njs-script.ts): a fixed tiny text
 * format, one value per line, cut with indexOf in njs (cheaper there than JSON.parse in the fresh
 * VM each request gets), small enough (~150 bytes) that the read is one page from the page cache:
 *
 *   <routing version>\n<weight bp>\n<a>\n<b>\n<c>\n<d>\n<salt after byte 16>\n<salt>\n
 *   <release id|->\n<sticky header|->\n<sticky cookie|->\n
 *   then one rule per line: <h|c>\t<name>\t<hex of the UTF-8 value, or * for presence>\t<c|s>
 *
 * a..d are the xxh32 accumulators after the salt's first 16-byte stripe (salts are 22 ASCII
 * characters, so that stripe is the same for every request of a release): njs then hashes only
 * the salt's last 6 bytes and the user key. They are `-` (and the rest of the salt too) for a salt
 * shorter than 16 characters or not ASCII; njs then hashes salt ‖ key whole. Rule values are hex
 * so a value can hold any byte (tabs, newlines) and njs compares it with the bytes the client
 * sent. Files are replaced atomically (write a temp file, rename), so a request reads either the
 * old or the new file, never half of one.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RouteEntry } from '../../../core/types.js';
import { DEFAULT_STICKY_COOKIE } from '../../../gateway/route-table.js';

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;

/**
 * The xxh32 accumulators (seed 0) after the first 16-byte stripe of `salt`, as signed 32-bit
 * integers (XXH32 spec, "Step 1" and "Step 2"), or null when the salt is shorter or not ASCII.
 */
export function saltStripe(salt: string): [number, number, number, number] | null {
  if (salt.length < 16 || Buffer.byteLength(salt, 'utf8') !== salt.length) return null;
  const lane = (i: number): number =>
    salt.charCodeAt(i) | (salt.charCodeAt(i + 1) << 8) | (salt.charCodeAt(i + 2) << 16) | (salt.charCodeAt(i + 3) << 24);
  const round = (acc: number, input: number): number => {
    const a = (acc + Math.imul(input, P2)) | 0;
    return Math.imul((a << 13) | (a >>> 19), P1);
  };
  return [round((P1 + P2) | 0, lane(0)), round(P2 | 0, lane(4)), round(0, lane(8)), round(-P1 | 0, lane(12))];
}

/** The state file's text for one route at routing version `version`. */
export function renderStateFile(route: RouteEntry, version: number): string {
  const { canary, stickiness } = route;
  const salt = canary?.salt ?? '';
  const stripe = saltStripe(salt);
  const header = stickiness.header ? stickiness.header.toLowerCase() : '-';
  const cookie = stickiness.cookie === '' ? '-' : (stickiness.cookie ?? DEFAULT_STICKY_COOKIE);
  const lines = [
    String(version),
    String(canary?.weight ?? 0),
    ...(stripe === null ? ['-', '-', '-', '-', '-'] : [...stripe.map(String), salt.slice(16)]),
    salt,
    canary?.releaseId ?? '-',
    header,
    cookie,
  ];
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
