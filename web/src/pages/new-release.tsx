/**
 * Start a release: a form mirroring `POST /api/v1/services/:name/releases`. Values are sent as
 * typed and the API validates them; each problem it reports (`details.errors[].field`, a JSON
 * path like `body.steps[1].weight`) is shown next to the field it names.
 */
import { type FormEvent, type ReactNode, useState } from 'react';
import { ApiError, type FieldProblem, type Release, type Service, enc } from '../api';
import { ErrorState, Loading } from '../components/states';
import { useResource } from '../hooks';
import { Link, navigate, useTitle } from '../router';
import { useSession } from '../session';

const FIELDS = [
  'version',
  'endpoints',
  'steps',
  'analysis.judge',
  'analysis.onFailure',
  'analysis.interval',
  'analysis.errorRate.tolerance',
  'analysis.errorRate.max',
  'analysis.latency.tolerance',
  'analysis.latency.p99MaxMs',
  'analysis',
  'metadata',
  'reason',
] as const;
type FieldKey = (typeof FIELDS)[number];

/** The form field an API problem belongs to: the longest field path that prefixes it. */
export function fieldFor(apiField: string): FieldKey | null {
  const path = apiField.replace(/^body\.?/, '');
  let best: FieldKey | null = null;
  for (const f of FIELDS) {
    const boundary = path.length === f.length || path[f.length] === '.' || path[f.length] === '[';
    if (path.startsWith(f) && boundary && (best === null || f.length > best.length)) best = f;
  }
  return best;
}

/** A number when the text is one; otherwise the text itself, so the API says what is wrong. */
function numberOrText(text: string): number | string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

export function NewReleasePage({ service }: { service: string }) {
  useTitle(`New release of ${service}`);
  const { api, can } = useSession();
  const svc = useResource(() => api.get<Service>(`/api/v1/services/${enc(service)}`), [api, service]);
  const [v, setV] = useState({
    version: '',
    endpoints: '',
    steps: '5:30s,25:1m,50:1m,100',
    judge: 'sequential',
    onFailure: 'rollback',
    interval: '',
    errTolerance: '',
    errMax: '',
    latTolerance: '',
    p99MaxMs: '',
    metadata: '',
    reason: '',
  });
  const [errors, setErrors] = useState<Partial<Record<FieldKey, string[]>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof v) => (e: { target: { value: string } }) => setV((s) => ({ ...s, [k]: e.target.value }));

  if (!can('release')) {
    return (
      <main id="main" className="page">
        <h1>New release of {service}</h1>
        <p className="banner banner-warn">Your role cannot start releases; ask for a deployer token.</p>
      </main>
    );
  }

  const body = (): { body: Record<string, unknown>; local: Partial<Record<FieldKey, string[]>> } => {
    const local: Partial<Record<FieldKey, string[]>> = {};
    const out: Record<string, unknown> = { version: v.version.trim() };
    const endpoints = v.endpoints.split(/[\s,]+/).filter(Boolean);
    if (endpoints.length) out.endpoints = endpoints;
    if (v.steps.trim()) out.steps = v.steps.trim();
    const analysis: Record<string, unknown> = { judge: v.judge, onFailure: v.onFailure };
    if (v.interval.trim()) analysis.interval = v.interval.trim();
    const errorRate: Record<string, unknown> = {};
    if (numberOrText(v.errTolerance) !== undefined) errorRate.tolerance = numberOrText(v.errTolerance);
    if (numberOrText(v.errMax) !== undefined) errorRate.max = numberOrText(v.errMax);
    if (Object.keys(errorRate).length) analysis.errorRate = errorRate;
    const latency: Record<string, unknown> = {};
    if (numberOrText(v.latTolerance) !== undefined) latency.tolerance = numberOrText(v.latTolerance);
    if (numberOrText(v.p99MaxMs) !== undefined) latency.p99MaxMs = numberOrText(v.p99MaxMs);
    if (Object.keys(latency).length) analysis.latency = latency;
    out.analysis = analysis;
    const metadata: Record<string, string> = {};
    v.metadata
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .forEach((line, i) => {
        const eq = line.indexOf('=');
        if (eq <= 0) (local.metadata ??= []).push(`line ${i + 1}: write key=value, e.g. commit=9f8d111`);
        else metadata[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
      });
    if (Object.keys(metadata).length) out.metadata = metadata;
    if (v.reason.trim()) out.reason = v.reason.trim();
    return { body: out, local };
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { body: payload, local } = body();
    setFormError(null);
    if (Object.keys(local).length) {
      setErrors(local);
      return;
    }
    setBusy(true);
    try {
      const created = await api.send<Release>('POST', `/api/v1/services/${enc(service)}/releases`, payload);
      navigate(`/releases/${enc(created.id)}`);
    } catch (err) {
      setBusy(false);
      if (!(err instanceof ApiError)) {
        setFormError(String(err));
        return;
      }
      const problems: FieldProblem[] = err.problems.length
        ? [...err.problems]
        : err.field
          ? [{ field: err.field, message: err.message }]
          : [];
      const next: Partial<Record<FieldKey, string[]>> = {};
      const unplaced: string[] = [];
      for (const p of problems) {
        const key = fieldFor(p.field);
        const text = p.message.startsWith(p.field) ? p.message : `${p.field.replace(/^body\./, '')}: ${p.message}`;
        if (key) (next[key] ??= []).push(text);
        else unplaced.push(text);
      }
      setErrors(next);
      if (unplaced.length || problems.length === 0)
        setFormError(problems.length === 0 ? `${err.message} (${err.code})` : unplaced.join('; '));
      else
        setFormError(
          `The API refused the release: ${problems.length} problem${problems.length === 1 ? '' : 's'}, shown next to the fields.`,
        );
    }
  };

  const field = (
    key: FieldKey,
    label: string,
    control: (describedBy: string | undefined, invalid: boolean) => ReactNode,
    help?: string,
  ) => {
    const id = `f-${key.replace(/\./g, '-')}`;
    const errs = errors[key];
    return (
      <div className={`field${errs ? ' field-invalid' : ''}`} data-field={key}>
        <label htmlFor={id}>{label}</label>
        {control(errs ? `${id}-err` : help ? `${id}-help` : undefined, Boolean(errs))}
        {help && !errs && (
          <p className="help" id={`${id}-help`}>
            {help}
          </p>
        )}
        {errs && (
          <p className="field-error" id={`${id}-err`} data-error-for={key}>
            {errs.join(' ')}
          </p>
        )}
      </div>
    );
  };
  const input =
    (key: FieldKey, k: keyof typeof v, extra: Record<string, string> = {}) =>
    (d: string | undefined, inv: boolean) => (
      <input
        id={`f-${key.replace(/\./g, '-')}`}
        name={key}
        value={v[k]}
        onChange={set(k)}
        aria-describedby={d}
        aria-invalid={inv || undefined}
        {...extra}
      />
    );

  return (
    <main id="main" className="page">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/">Services</Link> / <Link to={`/services/${enc(service)}`}>{service}</Link> /{' '}
        <span aria-current="page">New release</span>
      </nav>
      <h1>Start a release of {service}</h1>
      {svc.data === undefined && (svc.error ? <ErrorState error={svc.error} what="service" /> : <Loading what="service" />)}
      {svc.data && (
        <p className="muted">
          Stable now: <code>{svc.data.stable.version}</code>. The canary gets a small, sticky share of users and moves up the plan while the
          judge finds it no worse.
        </p>
      )}
      <form className="card form" onSubmit={(e) => void submit(e)} noValidate aria-label="Release">
        {formError && (
          <p className="banner banner-error" role="alert" data-testid="form-error">
            {formError}
          </p>
        )}
        <div className="grid-2">
          {field(
            'version',
            'Version',
            input('version', 'version', { placeholder: 'v2 or a git sha', autoComplete: 'off', required: 'true' }),
            'Letters, digits, ".", "_", "+" or "-".',
          )}
          {field(
            'steps',
            'Steps',
            input('steps', 'steps', { placeholder: '5:30s,25:1m,100' }),
            'PERCENT:HOLD, comma-separated; the last step is usually 100. Empty: the server default.',
          )}
        </div>
        {field(
          'endpoints',
          'Canary endpoints',
          (d, inv) => (
            <textarea
              id="f-endpoints"
              name="endpoints"
              rows={2}
              value={v.endpoints}
              onChange={set('endpoints')}
              aria-describedby={d}
              aria-invalid={inv || undefined}
              placeholder="http://10.0.0.5:8080"
            />
          ),
          'One base URL per line. Leave empty when a deploy driver starts the canary.',
        )}
        <fieldset className="fieldset">
          <legend>Analysis</legend>
          <div className="grid-3">
            {field('analysis.judge', 'Judge', (d) => (
              <select id="f-analysis-judge" name="analysis.judge" value={v.judge} onChange={set('judge')} aria-describedby={d}>
                <option value="sequential">sequential (anytime-valid)</option>
                <option value="threshold">threshold</option>
                <option value="mann-whitney">mann-whitney</option>
              </select>
            ))}
            {field('analysis.onFailure', 'On failure', (d) => (
              <select
                id="f-analysis-onFailure"
                name="analysis.onFailure"
                value={v.onFailure}
                onChange={set('onFailure')}
                aria-describedby={d}
              >
                <option value="rollback">roll back</option>
                <option value="pause">pause</option>
              </select>
            ))}
            {field('analysis.interval', 'Interval', input('analysis.interval', 'interval', { placeholder: 'default' }))}
            {field(
              'analysis.errorRate.tolerance',
              'Error-rate tolerance',
              input('analysis.errorRate.tolerance', 'errTolerance', { inputMode: 'decimal', placeholder: 'e.g. 0.5' }),
              'Relative: 0.5 = canary may be 50% worse.',
            )}
            {field(
              'analysis.errorRate.max',
              'Error-rate ceiling',
              input('analysis.errorRate.max', 'errMax', { inputMode: 'decimal', placeholder: 'e.g. 0.05' }),
              'Absolute share of requests, 0..1.',
            )}
            {field(
              'analysis.latency.tolerance',
              'Latency tolerance',
              input('analysis.latency.tolerance', 'latTolerance', { inputMode: 'decimal', placeholder: 'e.g. 0.2' }),
            )}
            {field(
              'analysis.latency.p99MaxMs',
              'p99 ceiling (ms)',
              input('analysis.latency.p99MaxMs', 'p99MaxMs', { inputMode: 'decimal', placeholder: 'e.g. 500' }),
            )}
          </div>
          {errors.analysis && (
            <p className="field-error" data-error-for="analysis">
              {errors.analysis.join(' ')}
            </p>
          )}
        </fieldset>
        <div className="grid-2">
          {field(
            'metadata',
            'Metadata',
            (d, inv) => (
              <textarea
                id="f-metadata"
                name="metadata"
                rows={3}
                value={v.metadata}
                onChange={set('metadata')}
                aria-describedby={d}
                aria-invalid={inv || undefined}
                placeholder={'commit=9f8d111\npipeline=https://ci.example/run/42'}
              />
            ),
            'key=value per line: commit, pipeline URL, author.',
          )}
          {field(
            'reason',
            'Reason',
            (d, inv) => (
              <textarea
                id="f-reason"
                name="reason"
                rows={3}
                value={v.reason}
                onChange={set('reason')}
                aria-describedby={d}
                aria-invalid={inv || undefined}
                maxLength={1024}
              />
            ),
            'Kept in the audit log.',
          )}
        </div>
        <div className="form-buttons">
          <Link className="btn" to={`/services/${enc(service)}`}>
            Cancel
          </Link>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Starting…' : 'Start release'}
          </button>
        </div>
      </form>
    </main>
  );
}
