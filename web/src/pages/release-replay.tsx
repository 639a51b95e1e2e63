/**
 * The release page's "What if" panel: other analysis settings (empty fields keep the release's
 * own), a Replay button, and the answer of `POST /api/v1/releases/:id/replay` — one sentence,
 * then per step what really happened beside what the replay says, and the failing verdict's
 * checks. A replay writes nothing, so every role may run it.
 */
import { type FormEvent, useState } from 'react';
import { ApiError, type CheckVerdict, type Outcome, type Release, enc } from '../api';
import { duration, pct, time } from '../format';
import { useSession } from '../session';
import { CheckTable } from './release-evidence';

/** The replay answer (mirrors src/api/schemas/replay.ts). */
interface ReplayStep {
  readonly stepIndex: number;
  readonly weight: number;
  readonly hold: string;
  readonly analysis: boolean;
  readonly real: {
    readonly outcome: string;
    readonly startedAt: string;
    readonly endedAt: string | null;
    readonly by: string | null;
    readonly reason: string | null;
  } | null;
  readonly replay: {
    readonly outcome: 'fail' | 'pause' | 'pass' | 'undecided' | 'not-reached' | 'no-evidence';
    readonly at: string | null;
    readonly afterMs: number | null;
    readonly reason: string;
    readonly action: 'rollback' | 'pause' | null;
    readonly verdict: {
      readonly judge: string;
      readonly outcome: Outcome;
      readonly at: string;
      readonly checks: readonly CheckVerdict[];
    } | null;
  };
  readonly note: string | null;
}

interface ReplayResponse {
  readonly outcome: { readonly kind: 'fail' | 'pause' | 'promote' | 'no-failure'; readonly reason: string };
  readonly summary: string;
  readonly note: string;
  readonly steps: readonly ReplayStep[];
}

interface Form {
  judge: string;
  latRel: string;
  latAbs: string;
  errRel: string;
  errAbs: string;
  errMax: string;
  warmup: string;
  minRequests: string;
}

const EMPTY: Form = { judge: '', latRel: '', latAbs: '', errRel: '', errAbs: '', errMax: '', warmup: '', minRequests: '' };

/** The analysis input from the filled fields (percent fields become fractions); empty fields are left out. */
function analysisOf(f: Form): Record<string, unknown> {
  const n = (s: string) => Number(s.trim());
  const latency: Record<string, number> = {};
  const errorRate: Record<string, number> = {};
  if (f.latRel.trim()) latency.tolerance = n(f.latRel) / 100;
  if (f.latAbs.trim()) latency.minDifferenceMs = n(f.latAbs);
  if (f.errRel.trim()) errorRate.tolerance = n(f.errRel) / 100;
  if (f.errAbs.trim()) errorRate.minDifference = n(f.errAbs) / 100;
  if (f.errMax.trim()) errorRate.max = n(f.errMax) / 100;
  return {
    ...(f.judge ? { judge: f.judge } : {}),
    ...(Object.keys(latency).length ? { latency } : {}),
    ...(Object.keys(errorRate).length ? { errorRate } : {}),
    ...(f.warmup.trim() ? { warmup: f.warmup.trim() } : {}),
    ...(f.minRequests.trim() ? { minRequests: n(f.minRequests) } : {}),
  };
}

export function WhatIf({ release }: { release: Release }) {
  const { api } = useSession();
  const [form, setForm] = useState<Form>(EMPTY);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [report, setReport] = useState<ReplayResponse | null>(null);
  const set = (k: keyof Form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setReport(await api.send<ReplayResponse>('POST', `/api/v1/releases/${enc(release.id)}/replay`, { analysis: analysisOf(form) }));
    } catch (err) {
      setReport(null);
      setError(err instanceof ApiError ? `${err.message} (${err.code})` : String(err));
    } finally {
      setBusy(false);
    }
  };

  const input = (k: keyof Form, label: string, placeholder: string, unit?: string) => (
    <div className="field" data-field={k}>
      <label htmlFor={`wi-${k}`}>{label}</label>
      <input id={`wi-${k}`} name={k} value={form[k]} onChange={set(k)} placeholder={placeholder} inputMode={unit ? 'decimal' : undefined} />
    </div>
  );
  const a = release.analysis;
  return (
    <section className="card" aria-labelledby="wi-h" data-testid="what-if">
      <h2 id="wi-h">What if</h2>
      <p className="muted small">
        Judge this release's stored evidence again under other settings, second by second as the controller does, and see when and why it
        would have failed or passed next to what really happened. Empty fields keep the release's own settings. Nothing is changed.
      </p>
      <form className="form" onSubmit={(e) => void submit(e)} aria-label="What-if replay">
        <div className="grid-3">
          <div className="field" data-field="judge">
            <label htmlFor="wi-judge">Judge</label>
            <select id="wi-judge" name="judge" value={form.judge} onChange={set('judge')}>
              <option value="">as released ({a.judge})</option>
              <option value="sequential">sequential</option>
              <option value="threshold">threshold</option>
              <option value="mann-whitney">mann-whitney</option>
            </select>
          </div>
          {input('latRel', 'Latency tolerance (%)', `${Math.round(a.latency.tolerance * 1000) / 10}`, '%')}
          {input('latAbs', 'and at least (ms)', 'as released', 'ms')}
          {input('errRel', 'Error-rate tolerance (%)', `${Math.round(a.errorRate.tolerance * 1000) / 10}`, '%')}
          {input('errAbs', 'and at least (points)', 'as released', 'pp')}
          {input('errMax', 'Error ceiling (%)', a.errorRate.max === null ? 'none' : `${Math.round(a.errorRate.max * 10000) / 100}`, '%')}
          {input('warmup', 'Warm-up', 'as released, e.g. 15s')}
          {input('minRequests', 'Enough requests', 'as released')}
        </div>
        <div className="form-buttons">
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="replay">
            {busy ? 'Replaying…' : 'Replay'}
          </button>
          <button type="button" className="btn" onClick={() => setForm(EMPTY)}>
            Reset to the release's settings
          </button>
        </div>
      </form>
      {error && (
        <p className="banner banner-error" role="alert" data-testid="replay-error">
          {error}
        </p>
      )}
      {report && <ReplayResult report={report} />}
    </section>
  );
}

function ReplayResult({ report }: { report: ReplayResponse }) {
  const failing = report.steps.find((s) => s.replay.outcome === 'fail' || s.replay.outcome === 'pause');
  const tone = report.outcome.kind === 'fail' || report.outcome.kind === 'pause' ? 'banner-error' : 'banner-ok';
  return (
    <div data-testid="replay-result" data-outcome={report.outcome.kind} aria-live="polite">
      <p className={`banner ${tone}`} data-testid="replay-summary">
        {report.summary}
      </p>
      <div className="table-wrap">
        <table className="table stack">
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Weight</th>
              <th scope="col">What happened</th>
              <th scope="col">What replay says</th>
            </tr>
          </thead>
          <tbody>
            {report.steps.map((s) => (
              <tr key={`${s.stepIndex}-${s.real?.startedAt ?? ''}`} data-step={s.stepIndex} data-replay={s.replay.outcome}>
                <th scope="row">{s.stepIndex + 1}</th>
                <td data-label="Weight">{pct(s.weight)}</td>
                <td data-label="What happened">{happened(s)}</td>
                <td data-label="What replay says">
                  {says(s)}
                  {s.note && <div className="muted small">{s.note}</div>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {failing?.replay.verdict && (
        <div data-testid="replay-failing">
          <p className="reason-text">
            Step {failing.stepIndex + 1}: {failing.replay.reason}
          </p>
          <CheckTable verdict={{ id: 0, stepIndex: failing.stepIndex, windowFrom: null, windowTo: null, ...failing.replay.verdict }} />
        </div>
      )}
      <p className="muted small">{report.note}</p>
    </div>
  );
}

function happened(s: ReplayStep): string {
  const r = s.real;
  if (!r) return 'never reached';
  if (r.outcome === 'running') return `running since ${time(r.startedAt)}`;
  const took = r.endedAt ? ` after ${duration(Date.parse(r.endedAt) - Date.parse(r.startedAt))}` : '';
  const by = r.by && r.by !== 'system' ? ` by ${r.by}` : '';
  return `${r.outcome.replace('-', ' ')}${took}${by}${r.reason && r.outcome !== 'advanced' ? `: ${r.reason}` : ''}`;
}

function says(s: ReplayStep): string {
  const after = s.replay.afterMs === null ? '' : ` after ${duration(s.replay.afterMs)}`;
  switch (s.replay.outcome) {
    case 'fail':
      return `would have failed${after} (${s.replay.action === 'pause' ? 'pause' : 'roll back'})`;
    case 'pause':
      return `would have paused undecided${after}`;
    case 'pass':
      return `would have passed${after}: ${s.replay.reason.replace(/^step \d+\/\d+ \([^)]*\) /, '')}`;
    case 'undecided':
      return `undecided when the real step ended (${s.replay.verdict?.outcome ?? 'no verdict'})`;
    case 'not-reached':
      return `not reached: ${s.replay.reason}`;
    case 'no-evidence':
      return 'no evidence: the release never got here';
  }
}
