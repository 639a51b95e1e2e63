import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteEntry } from '../core/types.js';
import { DEFAULT_POOL_SETTINGS, EndpointRegistry } from './endpoints.js';
import { compileTable, normaliseHost } from './route-table.js';

function entry(service: string, match: RouteEntry['match'], endpoints = ['http://127.0.0.1:9001']): RouteEntry {
  return { service, match, stickiness: { cookie: 'tern_uid' }, rules: [], stable: { version: 'v1', endpoints }, canary: null };
}

describe('compileTable', () => {
  const registry = new EndpointRegistry(DEFAULT_POOL_SETTINGS, 10);
  after(() => registry.destroyAll());
  const t = compileTable(
    {
      version: 1,
      routes: [
        entry('root', { pathPrefix: '/' }),
        entry('api', { pathPrefix: '/api/' }),
        entry('api-v2', { pathPrefix: '/api/v2' }),
        entry('shop-host', { host: 'Shop.Example' }),
        entry('shop-api', { host: 'shop.example', pathPrefix: '/api' }),
      ],
    },
    registry,
  );
  const name = (host: string | undefined, path: string): string | undefined => t.match(host, path)?.service;

  it('prefers the longest prefix, on path-segment boundaries', () => {
    assert.equal(name('x', '/api/v2/items?q=1'), 'api-v2');
    assert.equal(name('x', '/api/v2'), 'api-v2');
    assert.equal(name('x', '/api/v20'), 'api');
    assert.equal(name('x', '/api'), 'api');
    assert.equal(name('x', '/apis'), 'root');
    assert.equal(name(undefined, '/'), 'root');
  });

  it('matches hosts exactly (case and port ignored) before host-less routes', () => {
    assert.equal(name('shop.example:8080', '/api/x'), 'shop-api');
    assert.equal(name('SHOP.example', '/other'), 'shop-host');
    assert.equal(name('www.shop.example', '/api/x'), 'api');
  });

  it('returns null when nothing matches', () => {
    const only = compileTable({ version: 2, routes: [entry('a', { pathPrefix: '/a' })] }, registry);
    assert.equal(only.match('x', '/b'), null);
    assert.equal(only.match('x', '/ab'), null);
    assert.equal(only.match('x', '/a/b')?.service, 'a');
  });

  it('shares one endpoint object (and pool) across table versions', () => {
    const a = compileTable({ version: 3, routes: [entry('a', { pathPrefix: '/a' })] }, registry);
    const b = compileTable({ version: 4, routes: [entry('b', { pathPrefix: '/b' })] }, registry);
    assert.equal(a.match(undefined, '/a')!.stable.endpoints[0], b.match(undefined, '/b')!.stable.endpoints[0]);
  });

  it('rejects duplicate matches, bad URLs and bad regexes before touching the registry', () => {
    assert.throws(
      () => compileTable({ version: 5, routes: [entry('a', { pathPrefix: '/a/' }), entry('b', { pathPrefix: '/a' })] }, registry),
      /already matches/,
    );
    assert.throws(() => compileTable({ version: 5, routes: [entry('a', {})] }, registry), /host and\/or a path prefix/);
    assert.throws(
      () => compileTable({ version: 5, routes: [entry('a', { pathPrefix: '/' }, ['not a url'])] }, registry),
      /routes\[0\]\.stable\.endpoints\[0\]/,
    );
    const bad: RouteEntry = { ...entry('a', { pathPrefix: '/' }), rules: [{ header: 'x', regex: '[', target: 'canary' }] };
    assert.throws(() => compileTable({ version: 5, routes: [bad] }, registry), /rules\[0\]\.regex/);
  });

  it('normalises hosts', () => {
    assert.equal(normaliseHost('A.b:80'), 'a.b');
    assert.equal(normaliseHost('[::1]:8080'), '[::1]');
  });
});
