/**
 * Unit tests for `release start --wait` / `release watch` (src/cli/watch): the SSE parser and
 * its reconnect loop, the follow loop against a scripted client, the lines pipelines read, the
 * live block, the outcomes and their exit codes. The real server is exercised in test/cli-wait.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TernClient } from './client.js';
import { ApiError, EXIT, EXIT_CODE_HELP, exitCodeFor, describeError, UnreachableError, WaitOutcome } from './errors.js';
import type { AuditView, ReleaseMetricsView, ReleaseView, VerdictView } from './views.js';
import { changesBetween, eventJson, eventText } from './watch/events.js';
import { follow, type Snapshot } from './watch/follow.js';
import { createLiveBlock, statusBlock } from './watch/live-block.js';
import { watchRelease } from './watch/watch-release.js';
import { renderRelease, renderReleaseTable } from './commands/release-view.js';
import { causeOf, finalLine, nextSteps, OUTCOME_EXIT, outcomeOf } from './watch/outcome.js';
import { createSseParser, followEventStream, type SseMessage } from './watch/sse.js';
import { createTrafficTally, LATE_WINDOW_MS } from './watch/traffic.js';

const T0 = Date.parse('2025-01-31T12:00:00Z');

function release(over: Partial<ReleaseView> = {}): ReleaseView {
  return {
    id: 'rel_1',
    service: 'checkout',
    version: 'v2',
    baseline: { version: 'v1' },
    status: 'progressing',
    weight: 10,
    stepIndex: 0,
    steps: [
      { weight: 10, hold: '1m', holdMs: 60_000, analysis: true },
      { weight: 100, hold: '0s', holdMs: 0, analysis: false },
    ],
    startedAt: new Date(T0).toISOString(),
    stepStartedAt: new Date(T0).toISOString(),
    endedAt: null,
    reason: null,
    ...over,
  };
}

function verdict(outcome: VerdictView['outcome'], over: Partial<VerdictView> = {}): VerdictView {
  return {
    id: 1,
    stepIndex: 0,
    judge: 'sequential',
    outcome,
    checks: [
      { check: 'error-rate', outcome, statistic: 22.634, bound: 1.5, detail: 'canary 4.7% (14/297) vs stable 0.67% (18/2696)' },
      { check: 'latency', outcome: 'inconclusive', statistic: null, bound: 0.406 },
      'not a check',
    ],
    at: new Date(T0 + 5000).toISOString(),
    ...over,
  };
}

const snap = (r: ReleaseView, v: VerdictView | null = null, traffic: Snapshot['traffic'] = null): Snapshot => ({
  release: r,
  verdict: v,
  traffic,
});

describe('SSE parser (WHATWG HTML §9.2.6)', () => {
  it('dispatches on blank lines, joins data lines, keeps the last id, skips comments', () => {
    const got: SseMessage[] = [];
    const parser = createSseParser((m) => got.push(m));
    const stream = ': connected\n\nid: 7\ndata: {"a":\ndata: 1}\n\n: heartbeat\n\nevent: other\r\ndata:x\r\n\r\ndata: no id\n\n';
    // Fed one character at a time: a line or a CRLF may arrive split anywhere.
    for (const ch of stream) parser.push(ch);
    assert.deepEqual(got, [
      { lastEventId: '7', event: 'message', data: '{"a":\n1}' },
      { lastEventId: '7', event: 'other', data: 'x' },
      { lastEventId: '7', event: 'message', data: 'no id' },
    ]);
    assert.equal(parser.lastEventId, '7');
  });

  it('reconnects after a drop with Last-Event-ID and stops on a refusal', async () => {
    const asked: Array<string | undefined> = [];
    const drops: string[] = [];
    const events: unknown[] = [];
    const bodies = [['id: 4\ndata: {"kind":"release","id":"a"}\n\n'], ['id: 5\ndata: {"kind":"release","id":"b"}\n', '\n']];
    const client = {
      openEventStream: (o: { lastEventId?: string }) => {
        asked.push(o.lastEventId);
        const body = bodies.shift();
        if (!body) return Promise.reject(new ApiError(401, 'TERN_UNAUTHENTICATED', 'revoked'));
        return Promise.resolve(body.map((s) => new TextEncoder().encode(s)));
      },
    } as unknown as TernClient;
    await followEventStream({ client, retryMs: 1, onEvent: (e) => events.push(e), onDrop: (r) => drops.push(r) });
    assert.deepEqual(asked, [undefined, '4', '5']);
    assert.deepEqual(events, [
      { kind: 'release', id: 'a' },
      { kind: 'release', id: 'b' },
    ]);
    assert.equal(drops.length, 3);
    assert.match(drops[2] ?? '', /TERN_UNAUTHENTICATED/);
  });
});

/** A client that answers `getRelease` from a script and everything else from fixtures. */
function scriptedClient(answers: Array<ReleaseView | Error>, extra: Partial<TernClient> = {}): TernClient & { reads: () => number } {
  let reads = 0;
  return {
    reads: () => reads,
    getRelease: () => {
      const next = answers[Math.min(reads++, answers.length - 1)];
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next as ReleaseView);
    },
    getReleaseAnalysis: () => Promise.resolve({ releaseId: 'rel_1', verdicts: [verdict('inconclusive')] }),
    getReleaseMetrics: () => Promise.resolve({ releaseId: 'rel_1', versions: [] }),
    // No event stream: the loop must get by on polling alone.
    openEventStream: () => Promise.reject(new ApiError(404, 'HTTP_404', 'no stream here')),
    ...extra,
  } as unknown as TernClient & { reads: () => number };
}

describe('follow', () => {
  it('polls past a dead event stream and an unreachable server until the release pauses', async () => {
    const client = scriptedClient([
      release(),
      new UnreachableError('http://x', 'connection refused'),
      release({ stepIndex: 1, weight: 100 }),
      release({ status: 'paused', reason: 'too little traffic' }),
    ]);
    const seen: string[] = [];
    const notices: string[] = [];
    const last = await follow({
      client,
      releaseId: 'rel_1',
      signal: new AbortController().signal,
      pollMs: 1,
      connected: true,
      onSnapshot: (s) => seen.push(`${s.release.status}@${s.release.stepIndex}:${s.verdict?.outcome ?? '-'}`),
      onNotice: (t) => notices.push(t),
    });
    assert.equal(last?.release.status, 'paused');
    assert.deepEqual(seen, ['progressing@0:inconclusive', 'progressing@1:inconclusive', 'paused@0:inconclusive']);
    assert.ok(notices.some((n) => n.includes('event stream dropped')));
    assert.ok(notices.some((n) => n.includes('connection refused')));
    assert.ok(notices.includes('the server answers again'));
  });

  it('gives up on a server that stays down, and fails at once on a 4xx or a first read that fails', async () => {
    const down = scriptedClient([new UnreachableError('http://x', 'connection refused')]);
    let clock = 0;
    await assert.rejects(
      follow({
        client: down,
        releaseId: 'rel_1',
        signal: new AbortController().signal,
        pollMs: 1,
        giveUpMs: 50,
        connected: true,
        now: () => (clock += 10),
        onSnapshot: () => undefined,
      }),
      UnreachableError,
    );
    assert.ok(down.reads() > 1, 'retried before giving up');
    const wrongUrl = scriptedClient([new UnreachableError('http://x', 'connection refused')]);
    await assert.rejects(
      follow({ client: wrongUrl, releaseId: 'rel_1', signal: new AbortController().signal, onSnapshot: () => undefined }),
      UnreachableError,
    );
    assert.equal(wrongUrl.reads(), 1, 'a watch that never reached the server fails at once');
    const gone = scriptedClient([new ApiError(404, 'TERN_RELEASE_NOT_FOUND', 'no release')]);
    await assert.rejects(
      follow({ client: gone, releaseId: 'rel_1', signal: new AbortController().signal, onSnapshot: () => undefined }),
      ApiError,
    );
    assert.equal(gone.reads(), 1);
  });

  it('returns the last snapshot when stopped, without waiting out the poll', async () => {
    const stop = new AbortController();
    const client = scriptedClient([release()]);
    const started = Date.now();
    const last = await follow({
      client,
      releaseId: 'rel_1',
      signal: stop.signal,
      pollMs: 60_000,
      onSnapshot: () => stop.abort('interrupted'),
    });
    assert.equal(last?.release.status, 'progressing');
    assert.ok(Date.now() - started < 5000);
  });
});

describe('traffic tally', () => {
  it('sums windows per version, re-reads recent ones, and counts a late window once', async () => {
    const tally = createTrafficTally();
    const w = (start: number, requests: number, errors: number) => ({ windowStart: new Date(start).toISOString(), requests, errors });
    const answers: ReleaseMetricsView[] = [
      {
        releaseId: 'r',
        versions: [
          { version: 'v1', role: 'stable', totals: { requests: 0, errors: 0, errorRate: null }, windows: [w(T0, 90, 1)] },
          {
            version: 'v2',
            role: 'canary',
            totals: { requests: 0, errors: 0, errorRate: null },
            windows: [w(T0, 10, 1), w(T0 + 1000, 10, 0)],
          },
        ],
      },
      // The same second again, now merged with another gateway's push, plus a new one.
      {
        releaseId: 'r',
        versions: [
          {
            version: 'v2',
            role: 'canary',
            totals: { requests: 0, errors: 0, errorRate: null },
            windows: [w(T0 + 1000, 20, 2), w(T0 + 2000, 5, 5)],
          },
        ],
      },
    ];
    const asked: Array<number | undefined> = [];
    for (let i = 0; i < answers.length; i++) await tally.refresh((since) => (asked.push(since), Promise.resolve(answers[i]!)));
    assert.deepEqual(asked, [undefined, T0 + 1000 - LATE_WINDOW_MS]);
    assert.deepEqual(tally.totals(), [
      { version: 'v2', role: 'canary', requests: 35, errors: 8 },
      { version: 'v1', role: 'stable', requests: 90, errors: 1 },
    ]);
  });
});

describe('lines for pipelines', () => {
  it('announces the release, then one line per change and per new verdict outcome', () => {
    const a = snap(release());
    const b = snap(release(), verdict('inconclusive'));
    const c = snap(release({ stepIndex: 1, weight: 100, reason: 'looks good' }), verdict('inconclusive', { id: 2 }));
    const d = snap(release({ status: 'rolled_back', stepIndex: 1, weight: 0 }), verdict('fail', { id: 3 }));
    const first = changesBetween(null, a, 'started');
    assert.deepEqual(
      first.map((e) => eventText(e, T0)),
      ['Started release rel_1: checkout v2 replacing v1, progressing, step 1/2, weight 10%, hold 1m'],
    );
    assert.deepEqual(
      changesBetween(a, b).map((e) => eventText(e, T0 + 5000)),
      [
        '12:00:05Z verdict inconclusive (sequential judge, step 1): error-rate inconclusive: canary 4.7% (14/297) vs stable 0.67% (18/2696); latency inconclusive: - vs 0.406',
      ],
    );
    assert.deepEqual(changesBetween(b, b), [], 'nothing changed, nothing printed');
    assert.deepEqual(
      changesBetween(b, c).map((e) => eventText(e, T0)),
      ['12:00:00Z progressing, step 2/2, weight 100% (looks good)'],
      'the same verdict outcome again is not repeated',
    );
    const last = changesBetween(c, d);
    assert.deepEqual(
      last.map((e) => e.event),
      ['verdict', 'release'],
      'the judge’s fail comes before the rollback it caused',
    );
    const json = JSON.parse(eventJson(last[1]!, T0, 'rel_1')) as Record<string, unknown>;
    assert.deepEqual(json, {
      at: '2025-01-31T12:00:00.000Z',
      releaseId: 'rel_1',
      event: 'release',
      status: 'rolled_back',
      step: 2,
      steps: 2,
      weight: 0,
      reason: null,
      changed: ['status', 'weight'],
    });
  });
});

describe('outcomes', () => {
  it('stops on ended and paused releases with their documented exit codes', () => {
    assert.deepEqual(
      ['pending', 'progressing', 'promoting', 'rolling_back', 'promoted', 'rolled_back', 'failed', 'paused'].map(outcomeOf),
      [null, null, null, null, 'promoted', 'rolled_back', 'failed', 'paused'],
    );
    assert.deepEqual(OUTCOME_EXIT, { promoted: 0, rolled_back: 10, failed: 11, paused: 12, timed_out: 13, interrupted: 130 });
    for (const code of [10, 11, 12, 13, 130]) assert.match(EXIT_CODE_HELP, new RegExp(`^\\s+${code} `, 'm'));
    const err = new WaitOutcome(EXIT.rolledBack, 'rolled_back');
    assert.equal(exitCodeFor(err), 10);
    assert.deepEqual(describeError(err), [], 'the outcome line is already printed');
  });

  it('ends with the outcome and the reason of the move that decided it', () => {
    const events: AuditView[] = [
      { id: 9, at: '', actor: 'system', action: 'release.rolled_back', target: 'release/rel_1', outcome: 'success', reason: 'x' },
      {
        id: 8,
        at: '',
        actor: 'system',
        action: 'release.rollback',
        target: 'release/rel_1',
        outcome: 'success',
        reason: 'sequential judge failed step 1/2',
      },
      { id: 7, at: '', actor: 'token:ci', action: 'release.rollback', target: 'release/rel_1', outcome: 'denied', reason: null },
    ];
    const rolledBack = release({ status: 'rolled_back', weight: 0, reason: 'sequential judge failed step 1/2' });
    assert.equal(
      finalLine('rolled_back', rolledBack, { cause: causeOf('rolled_back', events) }),
      'Rolled back: checkout v2 (release rel_1); every user is back on v1; by system, reason: sequential judge failed step 1/2',
    );
    // A release keeps an older reason when the deciding move gave none: the event wins.
    const byHand = release({ status: 'promoted', weight: 100, reason: 'step 1/2 held' });
    const promote: AuditView = {
      id: 3,
      at: '',
      actor: 'token:ci',
      action: 'release.promote',
      target: 'release/rel_1',
      outcome: 'success',
      reason: null,
    };
    assert.equal(
      finalLine('promoted', byHand, { cause: promote }),
      'Promoted: checkout v2 is now the stable version (release rel_1); by token:ci, no reason given',
    );
    assert.equal(
      finalLine('timed_out', release(), { timeoutMs: 120_000 }),
      'Timed out after 2m: release rel_1 of checkout v2 is still progressing at 10% (step 1 of 2); it keeps running',
    );
    assert.deepEqual(nextSteps('interrupted', release()), ['Resume watching with: tern release watch rel_1']);
    assert.deepEqual(nextSteps('promoted', release()), []);
  });
});

describe('live block', () => {
  it('shows status, hold left, traffic per version and the latest verdict per check', () => {
    const s = snap(release(), verdict('fail'), [
      { version: 'v2', role: 'canary', requests: 300, errors: 30 },
      { version: 'v1', role: 'stable', requests: 2700, errors: 12 },
    ]);
    const lines = statusBlock(s, T0 + 18_500, { startedAt: T0, deadline: T0 + 600_000 });
    assert.deepEqual(lines, [
      'checkout v2 replacing v1 · release rel_1',
      '  Status    progressing · step 1/2 · weight 10% · hold 42s left',
      '  Traffic   v2  canary  300 req   30 err  10% errors',
      '            v1  stable  2700 req  12 err  0.44% errors',
      '  Judge     sequential: fail (step 1, 13s ago)',
      '            error-rate  fail          canary 4.7% (14/297) vs stable 0.67% (18/2696)',
      '            latency     inconclusive  - vs 0.406',
      '  Watching  18s · times out in 9m42s · Ctrl-C stops watching (the release keeps running)',
    ]);
    const later = statusBlock(snap(release()), T0 + 61_000, { startedAt: T0, deadline: null });
    assert.match(later[1] ?? '', /hold over, waiting for a passing verdict$/);
    assert.equal(later[2], '  Traffic   no requests seen yet');
  });

  it('redraws in place, logs above the block, and never lets a line wrap', () => {
    let out = '';
    const block = createLiveBlock({ write: (t) => (out += t), columns: 12 });
    block.draw(['a', 'a very long line indeed']);
    assert.equal(out, 'a\na very lon…\n');
    out = '';
    block.log('changed');
    assert.equal(out, '\x1b[2F\x1b[Jchanged\na\na very lon…\n');
    out = '';
    block.draw(['b']);
    assert.equal(out, '\x1b[2F\x1b[Jb\n');
  });
});

describe('an ended release', () => {
  const ended = release({
    status: 'rolled_back',
    stepIndex: 0,
    weight: 0,
    endedAt: new Date(T0 + 90_000).toISOString(),
    reason: 'judge failed',
  });
  const oldVerdict = verdict('fail', { at: new Date(T0 + 60_000).toISOString() });

  it('is announced with its end and its last verdict at the time the judge gave it, not now', () => {
    const now = T0 + 3_600_000;
    const events = changesBetween(null, snap(ended, oldVerdict), 'watching');
    const lines = events.map((e) => eventText(e, now));
    assert.equal(
      lines[0],
      'Release rel_1 (checkout v2 replacing v1) had already ended at 2025-01-31 12:01:30Z: rolled_back, step 1/2, weight 0%',
    );
    assert.match(lines[1] ?? '', /^12:01:00Z verdict fail \(sequential judge, step 1\)/);
    const json = JSON.parse(eventJson(events[1]!, now, 'rel_1')) as { at: string };
    assert.equal(json.at, '2025-01-31T12:01:00.000Z');
  });

  it('watch prints its final state as lines, even on a live terminal that reports 0 columns', async () => {
    const out: string[] = [];
    const drawn: string[] = [];
    const client = scriptedClient([ended], { listReleaseEvents: () => Promise.resolve({ events: [] }) });
    await assert.rejects(
      watchRelease({
        client,
        io: { out: (t) => void out.push(t), err: () => undefined },
        releaseId: 'rel_1',
        first: 'watching',
        startedAt: Date.now(),
        timeoutMs: null,
        mode: 'live',
        terminal: { write: (t) => void drawn.push(t), columns: 0 },
        pollMs: 10,
      }),
      (err: unknown) => err instanceof WaitOutcome && err.exitCode === EXIT.rolledBack,
    );
    assert.deepEqual(drawn, [], 'no block drawn on a 0-column terminal');
    assert.match(out[0] ?? '', /^Release rel_1 \(checkout v2 replacing v1\) had already ended at 2025-01-31 12:01:30Z: rolled_back/);
    assert.match(out.at(-1) ?? '', /^Rolled back: checkout v2 \(release rel_1\); every user is back on v1; reason: judge failed$/);
  });
});

describe('a release promoted in full', () => {
  const promoted = release({ status: 'promoted', stepIndex: 0, weight: 100, endedAt: new Date(T0 + 30_000).toISOString() });

  it('shows its real step, the last one, and the step it was promoted from', () => {
    assert.match(renderRelease(promoted), /^Step\s+2 of 2: 100% \(promoted in full from step 1 at 10%; the steps between were skipped\)$/m);
    assert.match(renderReleaseTable([promoted]).split('\n')[1] ?? '', /promoted\s+100%\s+2\/2/);
    assert.match(finalLine('interrupted', promoted), /at 100% \(step 2 of 2\)/);
  });
});
