/**
 * The verifiable audit export format (JSON lines), shared by the server that writes it and
 * `tern audit verify` that checks it:
 *
 * ```
 * {"format":"tern-audit-export","version":1,"exportedAt":"…","since":null,"until":null,"start":"<64 hex>"}
 * {"chain":"<64 hex>","event":{…one audit event…}}
 * …
 * {"end":true,"count":N,"head":"<64 hex>","throughId":ID}
 * ```
 *
 * Each event line's `chain` is SHA-256 over the previous chain value (the header's `start`
 * for the first event), a newline and the event's JSON exactly as it appears in the line, so
 * editing, removing, reordering or inserting any event breaks every later hash; the last line
 * carries the head. The chain carries no secret: whoever rewrites the whole file can rebuild
 * it, so keep the head (printed by `tern audit export`) somewhere the file's holder cannot
 * write — a ticket, a CI log, a second archive.
 */
import { createHash } from 'node:crypto';

export const AUDIT_EXPORT_FORMAT = 'tern-audit-export';

/** The chain value after `eventJson`, given the previous one. */
export function chainNext(previous: string, eventJson: string): string {
  return createHash('sha256').update(previous, 'utf8').update('\n', 'utf8').update(eventJson, 'utf8').digest('hex');
}

/** The chain's start value for an export taken at `exportedAt` (ISO), so two exports never share hashes. */
export function chainStart(exportedAt: string): string {
  return createHash('sha256').update(`${AUDIT_EXPORT_FORMAT}\n${exportedAt}`, 'utf8').digest('hex');
}

/** One event line: the event JSON is kept byte for byte so a verifier can hash what it read. */
export function eventLine(chain: string, eventJson: string): string {
  return `{"chain":"${chain}","event":${eventJson}}`;
}

const EVENT_PREFIX = /^\{"chain":"([0-9a-f]{64})","event":/;

export interface VerifiedExport {
  readonly count: number;
  readonly head: string;
  readonly throughId: number | null;
}

/**
 * Checks an export's lines (without their newlines). Returns the count and head.
 * @throws Error naming the first line (1-based) that does not verify.
 */
export function verifyExportLines(lines: Iterable<string>): VerifiedExport {
  let lineNo = 0;
  let chain: string | undefined;
  let count = 0;
  let ended: VerifiedExport | undefined;
  for (const line of lines) {
    lineNo++;
    if (line === '') continue;
    if (ended) throw new Error(`line ${lineNo}: content after the end line`);
    if (chain === undefined) {
      const header = parse(line, lineNo) as { format?: unknown; start?: unknown };
      if (header.format !== AUDIT_EXPORT_FORMAT || typeof header.start !== 'string' || !/^[0-9a-f]{64}$/.test(header.start)) {
        throw new Error(`line ${lineNo}: not a Tern audit export header`);
      }
      chain = header.start;
      continue;
    }
    const match = EVENT_PREFIX.exec(line);
    if (match && line.endsWith('}')) {
      const eventJson = line.slice(match[0].length, -1);
      parse(eventJson, lineNo);
      const expected = chainNext(chain, eventJson);
      if (match[1] !== expected)
        throw new Error(`line ${lineNo}: chain hash does not match (the event or one before it was changed, removed or reordered)`);
      chain = expected;
      count++;
      continue;
    }
    const end = parse(line, lineNo) as { end?: unknown; count?: unknown; head?: unknown; throughId?: unknown };
    if (end.end !== true) throw new Error(`line ${lineNo}: neither an event line nor the end line`);
    if (end.count !== count) throw new Error(`line ${lineNo}: the end line says ${String(end.count)} events, the file has ${count}`);
    if (end.head !== chain) throw new Error(`line ${lineNo}: the end line's head does not match the chain`);
    ended = { count, head: chain, throughId: typeof end.throughId === 'number' ? end.throughId : null };
  }
  if (chain === undefined) throw new Error('the file is empty: no export header');
  if (!ended) throw new Error(`the export ends after line ${lineNo} without its end line (truncated?)`);
  return ended;
}

function parse(text: string, lineNo: number): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`line ${lineNo}: not JSON`);
  }
}
