import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '../src/core/errors.js';

describe('error codes', () => {
  it('are all listed in docs/errors.md with their HTTP status, and the doc lists no others', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const rows = new Map([...doc.matchAll(/^\| `(TERN_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]));
    for (const [code, status] of Object.entries(ERROR_CODES)) {
      assert.equal(rows.get(code), status, `${code} (${status}) must be listed in docs/errors.md`);
    }
    assert.deepEqual([...rows.keys()].sort(), Object.keys(ERROR_CODES).sort(), 'docs/errors.md lists codes the code does not have');
  });
});
