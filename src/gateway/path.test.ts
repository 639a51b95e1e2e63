import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalisePath, removeDotSegments } from './path.js';

describe('removeDotSegments (RFC 3986 §5.2.4)', () => {
  const cases: Array<[string, string]> = [
    ['/a/b/c/./../../g', '/a/g'], // the RFC's own example
    ['/tenant/../../tenant2/secret', '/tenant2/secret'],
    ['/..', '/'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
    ['/a//b/../c', '/a//c'],
    ['/', '/'],
    ['/a/..b/c', '/a/..b/c'],
  ];
  for (const [input, out] of cases) it(`${input} → ${out}`, () => assert.equal(removeDotSegments(input), out));
});

describe('normalisePath', () => {
  it('keeps the query as it is', () => assert.deepEqual(normalisePath('/a/../b?x=/../y'), { ok: true, path: '/b?x=/../y' }));
  it('keeps path parameters that are no traversal', () =>
    assert.deepEqual(normalisePath('/a;v=1/b..;c'), { ok: true, path: '/a;v=1/b..;c' }));
  it('keeps encoded characters that are no traversal', () =>
    assert.deepEqual(normalisePath('/p/group%2Fname/%41'), { ok: true, path: '/p/group%2Fname/%41' }));
  for (const bad of [
    '/%2e%2e/x',
    '/%2E/x',
    '/a/.%2E/x',
    '/a/..%2F',
    '/a/%2e%2e%2fx',
    '/a/..\\x',
    '/a/..;/x',
    '/a/.;x/y',
    '/a/..%3bx/y',
    '/a%00',
    'x/y',
    '/a#b',
  ]) {
    it(`refuses ${bad}`, () => assert.equal(normalisePath(bad).ok, false));
  }
});
