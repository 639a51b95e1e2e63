/**
 * Unit tests for the analysis flags of `release start`: each parser's accepted forms and its
 * refusal (InvalidArgumentError → exit 2) with a message that says what is accepted, the
 * `--analysis-file` reader, and how flags override the file.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { readAnalysisFile } from './analysis-file.js';
import {
  analysisFromFlags,
  parseErrorMax,
  parseFeedbackMin,
  parseFeedbackTolerance,
  parseInterval,
  parseMinRequests,
  parseP99Max,
  parseThreshold,
  parseWarmup,
} from './analysis-flags.js';
import { CliError, UsageError } from './errors.js';

describe('analysis flag parsers', () => {
  it('reads --error-max as a percent, a fraction or none, and refuses more than 100%', () => {
    assert.equal(parseErrorMax('5%'), 0.05);
    assert.equal(parseErrorMax('0.05'), 0.05);
    assert.equal(parseErrorMax('none'), null);
    assert.throws(() => parseErrorMax('150%'), /expected a percent from 0% to 100% such as 5% \(or 0.05\), or none/);
    assert.throws(() => parseErrorMax('lots'), InvalidArgumentError);
  });

  it('reads --p99-max as a duration, a number of ms or none', () => {
    assert.equal(parseP99Max('500ms'), 500);
    assert.equal(parseP99Max('1.5s'), 1500);
    assert.equal(parseP99Max('250'), 250);
    assert.equal(parseP99Max('none'), null);
    assert.throws(() => parseP99Max('0ms'), /expected a duration above 0 up to 60s such as 500ms or 1.5s, or none/);
    assert.throws(() => parseP99Max('fast'), InvalidArgumentError);
  });

  it('reads the feedback tolerance in score points and the minimum as a score or none', () => {
    assert.equal(parseFeedbackTolerance('0.5'), 0.5);
    assert.throws(() => parseFeedbackTolerance('5'), /expected score points from 0 to 4, e.g. 0.5/);
    assert.equal(parseFeedbackMin('3.5'), 3.5);
    assert.equal(parseFeedbackMin('none'), null);
    assert.throws(() => parseFeedbackMin('0.5'), /expected a score from 1 to 5, e.g. 3.5, or none/);
  });

  it('reads counts as whole numbers in range', () => {
    assert.equal(parseMinRequests('200'), 200);
    assert.throws(() => parseMinRequests('0'), /expected a whole number from 1 to 10000000, e.g. 100/);
    assert.throws(() => parseMinRequests('1.5'), InvalidArgumentError);
    assert.equal(parseThreshold('3'), 3);
    assert.throws(() => parseThreshold('1001'), /expected a whole number from 1 to 1000, e.g. 5/);
  });

  it('checks durations here and sends them as written; 0 is no warm-up but no interval', () => {
    assert.equal(parseInterval('2s'), '2s');
    assert.throws(() => parseInterval('0'), /--interval: "0" must be above 0; expected e.g. 1s or 1m/);
    assert.throws(() => parseInterval('soon'), /is not a duration; use a number with a unit, e.g. 250ms, 30s/);
    assert.equal(parseWarmup('0'), '0s');
    assert.equal(parseWarmup('15s'), '15s');
    assert.throws(() => parseWarmup('15 seconds'), InvalidArgumentError);
  });
});

describe('--analysis-file and flags together', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tern-analysis-file-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const write = async (name: string, text: string): Promise<string> => {
    const file = path.join(dir, name);
    await writeFile(file, text);
    return file;
  };

  it('reads the analysis object from YAML and from JSON', async () => {
    const yaml = await write(
      'a.yaml',
      'judge: threshold\nlatency:\n  tolerance: 0.3\n  minDifferenceMs: 10\nwarmup: 30s\nfeedback: { minScore: 3 }\n',
    );
    assert.deepEqual(readAnalysisFile(yaml), {
      judge: 'threshold',
      latency: { tolerance: 0.3, minDifferenceMs: 10 },
      warmup: '30s',
      feedback: { minScore: 3 },
    });
    const json = await write('a.json', '{"errorRate": {"tolerance": 1, "max": null}}');
    assert.deepEqual(readAnalysisFile(json), { errorRate: { tolerance: 1, max: null } });
  });

  it('refuses a file the API would refuse, naming the field and what is accepted (UsageError: exit 2)', async () => {
    const unknown = await write('u.yaml', 'latency:\n  tolerence: 0.3\n');
    assert.throws(
      () => readAnalysisFile(unknown),
      (err: Error) => {
        assert.ok(err instanceof UsageError, 'exit 2');
        assert.match(err.message, /analysis\.latency: unknown field "tolerence" \(accepted: tolerance, minDifferenceMs, p99MaxMs\)/);
        return true;
      },
    );
    const range = await write('r.json', '{"feedback": {"minScore": 7}}');
    assert.throws(() => readAnalysisFile(range), /analysis\.feedback/);
    const duration = await write('d.yaml', 'warmup: soon\n');
    assert.throws(() => readAnalysisFile(duration), /analysis\.warmup: "soon" is not a duration/);
    const list = await write('l.yaml', '- 1\n- 2\n');
    assert.throws(() => readAnalysisFile(list), /must hold one object: the API's "analysis" settings/);
    const broken = await write('b.json', '{"judge": ');
    assert.throws(() => readAnalysisFile(broken), /is neither JSON nor YAML/);
  });

  it('says a file it cannot read is a file problem (exit 1), not a usage error', () => {
    assert.throws(
      () => readAnalysisFile(path.join(dir, 'missing.yaml')),
      (err: Error) => err instanceof CliError && /cannot read/.test(err.message),
    );
  });

  it('lays the flags over the file, field by field', () => {
    const file = {
      judge: 'threshold' as const,
      latency: { tolerance: 0.3, minDifferenceMs: 10, p99MaxMs: 800 },
      errorRate: { tolerance: 1, minDifference: 0.002 },
      feedback: { tolerance: 1, minScore: 3 },
    };
    assert.deepEqual(
      analysisFromFlags({
        analysisFile: file,
        judge: 'sequential',
        latencyTolerance: { minDifferenceMs: 2 },
        errorMax: null,
        feedbackMin: 4,
        minRequests: 50,
      }),
      {
        judge: 'sequential',
        latency: { tolerance: 0.3, minDifferenceMs: 2, p99MaxMs: 800 },
        errorRate: { tolerance: 1, minDifference: 0.002, max: null },
        feedback: { tolerance: 1, minScore: 4 },
        minRequests: 50,
      },
    );
    assert.deepEqual(analysisFromFlags({ feedbackTolerance: 0.5 }), { feedback: { tolerance: 0.5 } });
    assert.deepEqual(analysisFromFlags({ p99Max: 500, interval: '1s', threshold: 3 }), {
      latency: { p99MaxMs: 500 },
      interval: '1s',
      threshold: 3,
    });
    assert.equal(analysisFromFlags({}), undefined);
  });
});
