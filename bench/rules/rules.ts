/**
 * Rule matching cost (ReDoS). Each accepted rule set below fills one service's budget
 * (core/rule-regex.ts: at most MAX_RULES_PROGRAM instructions, 32 rules) with patterns chosen to
 * be as slow as the engine allows (nested quantifiers, DFA state blow-up, wide classes), all on
 * the header a hostile client sends; each request goes through the gateway's own split
 * (compileTable + decide). Values: 16 KiB adversarial headers, and adversarial values exactly at
 * the read bound MAX_RULE_VALUE (the longest a rule reads; longer ones match no regex rule).
 * Prints per set the CPU time per request (mean of 200) and the wall-clock median and p99 (wall
 * time also counts the process being preempted on a busy machine), then the worst over all
 * sets, then a micro-benchmark of a typical rule, ^(alice|bob)$, on RE2JS against JavaScript's RegExp.
 *   node --import tsx bench/rules/rules.ts
 */
import type { IncomingMessage } from 'node:http';
import { RE2JS } from 're2js';
import { MAX_RULE_VALUE, MAX_RULES_PROGRAM, compileRulePattern } from '../../src/core/rule-regex.js';
import type { MatchRule, RouteEntry } from '../../src/core/types.js';
import { DEFAULT_POOL_SETTINGS, EndpointRegistry } from '../../src/gateway/endpoints.js';
import { compileTable } from '../../src/gateway/route-table.js';
import { decide } from '../../src/gateway/split.js';

const REQUESTS = 200;
let seed = 42;
const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff) / 0x7fffffff;
const text = (n: number, alphabet: string): string =>
  Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');

/** As many copies of `source` as the budget (and the 32-rule limit) allows. */
function fill(source: string): MatchRule[] {
  const cost = compileRulePattern(source, 'bench').cost;
  const n = Math.min(32, Math.floor(MAX_RULES_PROGRAM / cost));
  return Array.from({ length: n }, () => ({ header: 'x-h', regex: source, target: 'canary' as const }));
}

const SETS: Record<string, MatchRule[]> = {
  'nested ^(a+)+$': fill('^(a+)+$'),
  'overlap (a|aa)*b': fill('(a|aa)*b'),
  'dfa blow-up [ab]*a[ab]{20}c': fill('[ab]*a[ab]{20}c'),
  'dfa blow-up [ab]*a[ab]{100}c': fill('[ab]*a[ab]{100}c'),
  'words ^(?:\\w*a\\w{10}){4}$': fill('^(?:\\w*a\\w{10}){4}$'),
  'search .*canary.*x': fill('.*canary.*x'),
  'names ^(alice|bob|…)$': fill(`^(${Array.from({ length: 30 }, (_, i) => `user${i}`).join('|')})$`),
  'mixed budget': [
    { header: 'x-h', regex: '^(a+)+$', target: 'canary' },
    { header: 'x-h', regex: '[ab]*a[ab]{30}c', target: 'canary' },
    { header: 'x-h', regex: '^(?:\\w*a\\w{5}){4}$', target: 'canary' },
    ...fill('(a|aa)*b').slice(0, 4),
  ],
};

const VALUES: Record<string, string> = {
  '16KiB a…!': 'a'.repeat(16 * 1024 - 1) + '!',
  '16KiB random ab': text(16 * 1024, 'ab'),
  'bound a…!': 'a'.repeat(MAX_RULE_VALUE - 1) + '!',
  'bound random ab': text(MAX_RULE_VALUE, 'ab'),
  'bound random words': text(MAX_RULE_VALUE, 'abcab_01 '),
};

const registry = new EndpointRegistry(DEFAULT_POOL_SETTINGS);
const entry = (rules: MatchRule[]): RouteEntry => ({
  service: 'bench',
  match: { pathPrefix: '/' },
  stickiness: { header: 'x-user', cookie: 'tern_uid' },
  rules,
  stable: { version: 'v1', endpoints: ['http://127.0.0.1:1'] },
  canary: { version: 'v2', endpoints: ['http://127.0.0.1:2'], weight: 500, salt: 's', releaseId: 'r' },
});

let worstCpu = { ms: 0, what: '' };
let worstMedian = { ms: 0, what: '' };
for (const [name, rules] of Object.entries(SETS)) {
  const route = compileTable({ version: 1, routes: [entry(rules)] }, registry).match(undefined, '/')!;
  const cost = rules.reduce((sum, r) => sum + compileRulePattern(r.regex!, 'bench').cost, 0);
  for (const [label, value] of Object.entries(VALUES)) {
    const req = { headers: { 'x-h': value, 'x-user': 'u1' }, socket: { remoteAddress: '192.0.2.1' } } as unknown as IncomingMessage;
    for (let i = 0; i < 20; i++) decide(route, req, false);
    const times: number[] = [];
    const cpu = process.cpuUsage();
    for (let i = 0; i < REQUESTS; i++) {
      const start = performance.now();
      decide(route, req, false);
      times.push(performance.now() - start);
    }
    const used = process.cpuUsage(cpu);
    // CPU time leaves out the moments the process was not running (a busy machine preempts it).
    const cpuMs = (used.user + used.system) / 1000 / REQUESTS;
    times.sort((a, b) => a - b);
    const median = times[REQUESTS / 2]!;
    const p99 = times[Math.ceil(REQUESTS * 0.99) - 1]!;
    const what = `${name} (${rules.length} rules, ${cost} instructions) × ${label}`;
    if (cpuMs > worstCpu.ms) worstCpu = { ms: cpuMs, what };
    if (median > worstMedian.ms) worstMedian = { ms: median, what };
    console.log(`rule set ${what}: CPU ${cpuMs.toFixed(4)} ms/request  wall median ${median.toFixed(4)} ms  p99 ${p99.toFixed(4)} ms`);
  }
}
console.log(`worst accepted rule set per request: CPU ${worstCpu.ms.toFixed(4)} ms (${worstCpu.what})  target ≤ 1 ms`);
console.log(`worst accepted rule set per request: wall median ${worstMedian.ms.toFixed(4)} ms (${worstMedian.what})`);
await registry.destroyAll();

// A typical rule on the request path: RE2JS (the engine) against RegExp (what it replaced).
const N = 200_000;
const re2 = compileRulePattern('^(alice|bob)$', 'bench');
const re2test = RE2JS.compile('^(alice|bob)$');
const js = /^(alice|bob)$/;
for (const value of ['bob', 'carol', 'u-7f3c9a1e2b']) {
  const time = (fn: (v: string) => boolean): number => {
    for (let i = 0; i < 10_000; i++) fn(value);
    const start = performance.now();
    for (let i = 0; i < N; i++) fn(value);
    return ((performance.now() - start) / N) * 1e6;
  };
  const a = time((v) => re2.test(v));
  const b = time((v) => re2test.test(v));
  const c = time((v) => js.test(v));
  console.log(
    `^(alice|bob)$ on "${value}": rule engine ${a.toFixed(0)} ns, RE2JS test() ${b.toFixed(0)} ns, RegExp ${c.toFixed(0)} ns per match (${(a / c).toFixed(1)}× RegExp)`,
  );
}
