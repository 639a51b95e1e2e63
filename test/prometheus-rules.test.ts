/**
 * The shipped Prometheus rules (deploy/prometheus/tern-rules.yml) pass `promtool check rules`
 * and their unit tests (`promtool test rules tern-rules.test.yml`), and every series they read
 * is one Tern exports: a renamed metric cannot leave the rules silently matching nothing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createControllerMetrics } from '../src/control/metrics.js';
import { GatewayMetrics } from '../src/gateway/metrics.js';
import { monitoringAvailable, PROMTOOL, run } from './support/monitoring.js';
import { ROOT } from './support/processes.js';

const RULES = path.join(ROOT, 'deploy', 'prometheus', 'tern-rules.yml');
const RULE_TESTS = path.join(ROOT, 'deploy', 'prometheus', 'tern-rules.test.yml');

describe('deploy/prometheus/tern-rules.yml', () => {
  const skip = !monitoringAvailable() && 'promtool is not installed (apt-get install prometheus)';

  it('passes promtool check rules', { skip }, () => {
    const r = run(PROMTOOL, ['check', 'rules', RULES]);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /SUCCESS: \d+ rules found/);
  });

  it('passes its promtool unit tests', { skip }, () => {
    const r = run(PROMTOOL, ['test', 'rules', RULE_TESTS]);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /SUCCESS/);
  });

  it('reads only series Tern exports', async () => {
    const registry = new Registry();
    createControllerMetrics(registry);
    const exported = new Set<string>();
    const gateway = new GatewayMetrics();
    gateway.trackEndpoints(() => []);
    for (const m of [...(await registry.getMetricsAsJSON()), ...(await gateway.registry.getMetricsAsJSON())]) {
      exported.add(m.name);
      if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_count', '_sum']) exported.add(`${m.name}${suffix}`);
    }
    const text = readFileSync(RULES, 'utf8');
    const used = new Set([...text.matchAll(/\b(tern_[a-z_]+)\b/g)].map((m) => m[1]!));
    assert.ok(used.size >= 6, [...used].join(' '));
    for (const name of used) assert.ok(exported.has(name), `${name} is not a series Tern exports`);
  });
});
