import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { totalCount } from '../../core/latency-histogram.js';
import { NginxAccessLogSource } from './nginx-access-log.js';

const dir = mkdtempSync(path.join(tmpdir(), 'tern-nginx-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const labelOf = (release: string, side: string): string | null => (release === 'rel' ? (side === 'c' ? 'v2' : 'v1') : null);
/** A log line as NGINX writes it (config.ts LOG_FORMAT). */
const line = (sec: number, side: string, status = 200, upstream = '0.004'): string =>
  `${sec}.123 rel ${side} ${status} 0.005 ${upstream}\n`;

describe('NginxAccessLogSource', () => {
  it('counts every request and 5xx exactly per version and second, with latency, once the window is old enough', () => {
    const file = path.join(dir, 'a.log');
    writeFileSync(file, '');
    const src = new NginxAccessLogSource({ name: 'edge', file, labelOf });
    appendFileSync(file, line(100, 's') + line(100, 's', 502, '-') + line(100, 'c') + line(101, 'c', 500) + '100.5 - s 200 0.001 0.001\n');
    assert.deepEqual(src.drainWindows(101_000), [], 'a window younger than the grace is held back');
    const windows = src.drainWindows(105_000).sort((a, b) => a.windowStart - b.windowStart || a.version.localeCompare(b.version));
    assert.deepEqual(
      windows.map((w) => [w.windowStart, w.version, w.requests, w.errors, totalCount(w.latency)]),
      [
        [100_000, 'v1', 2, 1, 2],
        [100_000, 'v2', 1, 0, 1],
        [101_000, 'v2', 1, 1, 1],
      ],
    );
    assert.deepEqual(src.drainWindows(106_000), [], 'each window once');
  });

  it('re-emits a whole window when a late line arrives, so the store replaces it rather than adding a part', () => {
    const file = path.join(dir, 'b.log');
    writeFileSync(file, '');
    const src = new NginxAccessLogSource({ name: 'edge', file, labelOf });
    appendFileSync(file, line(200, 's') + line(200, 's'));
    assert.equal(src.drainWindows(204_000)[0]?.requests, 2);
    appendFileSync(file, line(200, 's'));
    assert.deepEqual(
      src.drainWindows(205_000).map((w) => w.requests),
      [3],
    );
  });

  it('follows rotation (the old file read to its end first) and truncation', () => {
    const file = path.join(dir, 'c.log');
    writeFileSync(file, '');
    const src = new NginxAccessLogSource({ name: 'edge', file, labelOf });
    appendFileSync(file, line(300, 's'));
    src.poll();
    appendFileSync(file, line(300, 's'));
    renameSync(file, `${file}.1`);
    writeFileSync(file, line(300, 'c'));
    src.poll();
    truncateSync(file, 0); // copytruncate: seen as a size below the offset read so far
    src.poll();
    appendFileSync(file, line(300, 'c'));
    const got = src.drainWindows(304_000).map((w) => [w.version, w.requests]);
    assert.deepEqual(got.sort(), [
      ['v1', 2],
      ['v2', 2],
    ]);
  });

  it('on start re-reads an existing log, so windows a killed agent had not pushed are sent whole', () => {
    const file = path.join(dir, 'd.log');
    writeFileSync(file, line(400, 's') + line(400, 'c') + line(401, 's'));
    const src = new NginxAccessLogSource({ name: 'edge', file, labelOf });
    assert.equal(
      src.drainWindows(405_000).reduce((n, w) => n + w.requests, 0),
      3,
    );
  });
});
