import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainNext, chainStart, eventLine, verifyExportLines } from './audit-chain.js';

function exportOf(events: readonly object[]): string[] {
  const start = chainStart('2026-01-01T00:00:00.000Z');
  const lines = [JSON.stringify({ format: 'tern-audit-export', version: 1, start })];
  let chain = start;
  for (const e of events) {
    const json = JSON.stringify(e);
    chain = chainNext(chain, json);
    lines.push(eventLine(chain, json));
  }
  lines.push(JSON.stringify({ end: true, count: events.length, head: chain, throughId: events.length }));
  return lines;
}

describe('audit export chain', () => {
  const events = [
    { id: 1, actor: 'a' },
    { id: 2, actor: 'b' },
    { id: 3, actor: 'c' },
  ];

  it('verifies an intact export and returns its count and head', () => {
    const lines = exportOf(events);
    const result = verifyExportLines(lines);
    assert.equal(result.count, 3);
    assert.equal(result.head, (JSON.parse(lines.at(-1)!) as { head: string }).head);
  });

  it('names the line of an edited, removed, reordered or truncated event', () => {
    const lines = exportOf(events);
    const edited = [...lines];
    edited[2] = edited[2]!.replace('"b"', '"mallory"');
    assert.throws(() => verifyExportLines(edited), /line 3: chain hash/);
    assert.throws(() => verifyExportLines([lines[0]!, lines[1]!, lines[3]!, lines[4]!]), /line 3: chain hash/);
    assert.throws(() => verifyExportLines([lines[0]!, lines[2]!, lines[1]!, lines[3]!, lines[4]!]), /line 2: chain hash/);
    assert.throws(() => verifyExportLines(lines.slice(0, -1)), /without its end line/);
    assert.throws(() => verifyExportLines([]), /empty/);
  });
});
