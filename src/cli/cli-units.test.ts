/**
 * Unit tests for the CLI's pure parts: flag parsers, table rendering, and the error → exit
 * code mapping that scripts depend on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommanderError, InvalidArgumentError } from 'commander';
import { ApiError, CliError, describeError, EXIT, exitCodeFor, UnreachableError, UsageError } from './errors.js';
import { runCli } from './program.js';
import { formatAge, formatPercent, renderDetails, renderTable } from './output.js';
import { collect, collectKeyValue, parsePercent, parsePort, parseSince, parseWorkers } from './parse.js';

describe('exit codes', () => {
  it('maps each kind of failure to its documented code', () => {
    assert.equal(exitCodeFor(new UsageError('x')), EXIT.usage);
    assert.equal(exitCodeFor(new CommanderError(1, 'commander.unknownOption', 'x')), EXIT.usage);
    assert.equal(exitCodeFor(new CommanderError(0, 'commander.helpDisplayed', 'x')), EXIT.ok);
    assert.equal(exitCodeFor(new UnreachableError('http://h:1', 'connection refused')), EXIT.unreachable);
    assert.equal(exitCodeFor(new ApiError(403, 'TERN_FORBIDDEN', 'no')), EXIT.refused);
    assert.equal(exitCodeFor(new ApiError(409, 'TERN_RELEASE_ACTIVE', 'busy')), EXIT.refused);
    assert.equal(exitCodeFor(new ApiError(503, 'TERN_STORE_UNAVAILABLE', 'down')), EXIT.serverError);
    assert.equal(exitCodeFor(new CliError('x')), EXIT.other);
    assert.equal(exitCodeFor(new TypeError('bug')), EXIT.other);
  });

  it('prints the API code and message without a stack trace', () => {
    const lines = describeError(new ApiError(404, 'TERN_RELEASE_NOT_FOUND', 'release r1 does not exist'));
    assert.deepEqual(lines, ['error: TERN_RELEASE_NOT_FOUND: release r1 does not exist (HTTP 404)']);
    const bug = describeError(new TypeError('boom'));
    assert.equal(bug[0], 'error: boom');
    assert.ok(!bug.join('\n').includes('    at '), 'no stack unless TERN_DEBUG');
    assert.ok(describeError(new TypeError('boom'), true).join('\n').includes('    at '));
  });
});

describe('flag parsers', () => {
  it('parses ports, percents, repeatable and key=value flags', () => {
    assert.equal(parsePort('0'), 0);
    assert.throws(() => parsePort('65536'), InvalidArgumentError);
    assert.throws(() => parsePort('80x'), InvalidArgumentError);
    assert.equal(parsePercent('25%'), 25);
    assert.equal(parsePercent('12.5'), 12.5);
    assert.throws(() => parsePercent('half'), InvalidArgumentError);
    assert.deepEqual(collect('http://b,http://c', ['http://a']), ['http://a', 'http://b', 'http://c']);
    assert.deepEqual(collectKeyValue('url=https://ci/run?a=b', { commit: 'abc' }), { commit: 'abc', url: 'https://ci/run?a=b' });
    assert.throws(() => collectKeyValue('=x'), InvalidArgumentError);
  });

  it('reads --workers as a count or auto, one per CPU', () => {
    assert.equal(parseWorkers('3'), 3);
    assert.equal(
      parseWorkers('auto', () => 8),
      8,
    );
    assert.equal(
      parseWorkers('auto', () => 0),
      1,
    );
    assert.throws(() => parseWorkers('0'), /whole number above 0, or auto/);
    assert.throws(() => parseWorkers('all'), InvalidArgumentError);
  });

  it('reads --since as a time or a duration ago', () => {
    const now = Date.parse('2025-01-31T12:00:00Z');
    assert.equal(parseSince('2h', now), '2025-01-31T10:00:00.000Z');
    assert.equal(parseSince('2025-01-30T08:00:00Z', now), '2025-01-30T08:00:00.000Z');
    assert.throws(() => parseSince('yesterday', now), InvalidArgumentError);
  });
});

describe('table output', () => {
  it('aligns columns under upper-case headers without trailing spaces', () => {
    const text = renderTable(
      [
        { header: 'name', value: (r: { n: string; v: string }) => r.n },
        { header: 'stable', value: (r) => r.v },
      ],
      [
        { n: 'checkout', v: 'v1' },
        { n: 'cart', v: 'v10' },
      ],
    );
    assert.equal(text, 'NAME      STABLE\ncheckout  v1\ncart      v10');
  });

  it('indents multi-line values in a details block', () => {
    assert.equal(
      renderDetails([
        ['Endpoints', 'http://a\nhttp://b'],
        ['Id', 'x'],
      ]),
      'Endpoints  http://a\n           http://b\nId         x',
    );
  });

  it('formats percents and ages the way people read them', () => {
    assert.equal(formatPercent(12.5), '12.5%');
    assert.equal(formatPercent(0.1 + 0.2), '0.3%');
    assert.equal(formatAge('2025-01-31T11:58:30Z', Date.parse('2025-01-31T12:00:00Z')), '1m30s ago');
    assert.equal(formatAge(null), '-');
  });
});

describe('unknown commands', () => {
  async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { out: (s) => void out.push(s), err: (s) => void err.push(s) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('exits 2 naming the accepted commands, even with --help (no help printed for the parent)', async () => {
    const unknown = await run('frobnicate', 'haproxy', '--help');
    assert.equal(unknown.code, EXIT.usage);
    assert.equal(unknown.out, '');
    assert.match(unknown.err, /unknown command 'frobnicate' for tern; expected one of: server, gateway, (agent, )?demo, service, release/);
    const nested = await run('--url', 'http://127.0.0.1:1', '-o', 'json', 'service', 'frob', '-h');
    assert.equal(nested.code, EXIT.usage);
    assert.match(nested.err, /unknown command 'frob' for tern service; expected one of: create, list, get/);
  });

  it('still shows the help of a real command (exit 0)', async () => {
    const help = await run('release', 'status', '--help');
    assert.equal(help.code, EXIT.ok);
    assert.match(help.out, /Usage: tern release status/);
  });
});

describe('tern demo', () => {
  it('refuses -o json and a bad --rps before starting anything (exit 2, saying what is accepted)', async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (s: string) => void err.push(s) };
    assert.equal(await runCli(['demo', '-o', 'json', '--data-dir', '/nonexistent/tern-demo-never'], io), EXIT.usage);
    assert.match(err.join('\n'), /guided tour written for people and has no --output json; script the same steps/);
    assert.equal(await runCli(['demo', '--rps', 'lots'], io), EXIT.usage);
    assert.match(err.join('\n'), /expected a whole number above 0/);
  });
});
