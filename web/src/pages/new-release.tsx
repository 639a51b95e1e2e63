/**
 * Start a release: a form mirroring `POST /api/v1/services/:name/releases`. Values are sent as
 * typed (percents and percentage points turned into the API's fractions) and the API validates
 * them; each problem it reports (`details.errors[].field`, a JSON path like
 * `body.steps[1].weight`) is shown next to the field it names. The plan starts as the server's
 * default plan and empty analysis fields keep the server's defaults, shown as placeholders —
 * both read from `GET /api/v1/release-defaults`, never kept here.
 */
import { type FormEvent, type ReactNode, useEffect, useState } from 'react';
import { ApiError, type AnalysisConfig, type FieldProblem, type Release, type ReleaseDefaults, type Service, enc } from '../api';
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
  'analysis.minRequests',
  'analysis.warmup',
  'analysis.errorRate.tolerance',
  'analysis.errorRate.minDifference',
  'analysis.errorRate.max',
  'analysis.latency.tolerance',
  'analysis.latency.minDifferenceMs',
  'analysis.latency.p99MaxMs',
  'analysis.feedback.tolerance',
  'analysis.feedback.minScore',
  'analysis.feedback',
  'analysis',
  'webhooks',
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

/** A percent as typed (`20` or `20%`) to the API's fraction (0.2); text that is no number goes as typed. */
function fractionOrText(text: string): number | string | undefined {
  const v = numberOrText(text.trim().replace(/%$/, ''));
  return typeof v === 'number' ? Number((v / 100).toPrecision(12)) : v;
}

/** A ceiling: `none` turns it off (null); otherwise as `convert` reads it. */
function ceiling(text: string, convert: (t: string) => number | string | undefined): number | string | null | undefined {
  return text.trim().toLowerCase() === 'none' ? null : convert(text);
}

/** The webhook kinds a release accepts, as the API names them. */
const WEBHOOK_TYPES = ['event', 'pre-rollout', 'confirm-step', 'pre-promotion'] as const;
type WebhookType = (typeof WEBHOOK_TYPES)[number];
const WEBHOOK_HELP: Record<WebhookType, string> = {
  event: 'told of every change',
  'pre-rollout': 'must answer 2xx before the canary gets traffic',
  'confirm-step': 'must answer 2xx before each step up',
  'pre-promotion': 'must answer 2xx before the promotion',
};

/** A fraction as the percent the form takes (0.2 → "20"). */
function asPercent(fraction: number): string {
  return String(Number((fraction * 100).toPrecision(12)));
}

/** Placeholders: the server's defaults, in the form's units (percent, pp, ms). */
function placeholders(d: ReleaseDefaults | undefined): Record<string, string> {
  if (!d) return {};
  const a: AnalysisConfig = d.analysis;
  return {
    interval: a.interval,
    minRequests: String(a.minRequests),
    warmup: a.warmup,
    errTolerance: asPercent(a.errorRate.tolerance),
    errMinPp: asPercent(a.errorRate.minDifference),
    errMax: a.errorRate.max === null ? 'none' : asPercent(a.errorRate.max),
    latTolerance: asPercent(a.latency.tolerance),
    latMinMs: String(a.latency.minDifferenceMs),
    p99MaxMs: a.latency.p99MaxMs === null ? 'none' : String(a.latency.p99MaxMs),
    feedbackTolerance: String(d.feedback.tolerance),
    feedbackMin: d.feedback.minScore === null ? 'none' : String(d.feedback.minScore),
  };
}

/** Sets `obj[key]` when the value was given (an empty field keeps the server's default). */
function put(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) obj[key] = value;
}

export function NewReleasePage({ service }: { service: string }) {
  useTitle(`New release of ${service}`);
  const { api, can } = useSession();
  const svc = useResource(() => api.get<Service>(`/api/v1/services/${enc(service)}`), [api, service]);
  const defaults = useResource(() => api.get<ReleaseDefaults>('/api/v1/release-defaults'), [api]);
  const [v, setV] = useState({
    version: '',
    endpoints: '',
    // Filled with the server's default plan once it is read (unless typed over first).
    steps: '',
    judge: 'sequential',
    onFailure: 'rollback',
    interval: '',
    minRequests: '',
    warmup: '',
    errTolerance: '',
    errMinPp: '',
    errMax: '',
    latTolerance: '',
    latMinMs: '',
    p99MaxMs: '',
    feedbackTolerance: '',
    feedbackMin: '',
    metadata: '',
    reason: '',
  });
  const [stepsTouched, setStepsTouched] = useState(false);
  const [hooks, setHooks] = useState<Array<{ type: WebhookType; url: string }>>([]);
  const [feedbackOn, setFeedbackOn] = useState(false);
  const [errors, setErrors] = useState<Partial<Record<FieldKey, string[]>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof v) => (e: { target: { value: string } }) => {
    if (k === 'steps') setStepsTouched(true);
    setV((s) => ({ ...s, [k]: e.target.value }));
  };
  const plan = defaults.data?.plan;
  useEffect(() => {
    if (plan !== undefined && !stepsTouched) setV((s) => ({ ...s, steps: plan }));
  }, [plan, stepsTouched]);
  const ph = placeholders(defaults.data);
  const setHook = (i: number, change: Partial<{ type: WebhookType; url: string }>) =>
    setHooks((list) => list.map((h, j) => (j === i ? { ...h, ...change } : h)));

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
    if (v.warmup.trim()) analysis.warmup = v.warmup.trim() === '0' ? 0 : v.warmup.trim();
    put(analysis, 'minRequests', numberOrText(v.minRequests));
    const errorRate: Record<string, unknown> = {};
    put(errorRate, 'tolerance', fractionOrText(v.errTolerance));
    put(errorRate, 'minDifference', fractionOrText(v.errMinPp.replace(/\s*pp$/, '')));
    put(errorRate, 'max', ceiling(v.errMax, fractionOrText));
    if (Object.keys(errorRate).length) analysis.errorRate = errorRate;
    const latency: Record<string, unknown> = {};
    put(latency, 'tolerance', fractionOrText(v.latTolerance));
    put(latency, 'minDifferenceMs', numberOrText(v.latMinMs.replace(/\s*ms$/, '')));
    put(latency, 'p99MaxMs', ceiling(v.p99MaxMs.replace(/\s*ms$/, ''), numberOrText));
    if (Object.keys(latency).length) analysis.latency = latency;
    if (feedbackOn) {
      const feedback: Record<string, unknown> = {};
      put(feedback, 'tolerance', numberOrText(v.feedbackTolerance));
      put(feedback, 'minScore', numberOrText(v.feedbackMin));
      analysis.feedback = feedback;
    }
    out.analysis = analysis;
    const webhooks = hooks.filter((h) => h.url.trim() !== '').map((h) => ({ type: h.type, url: h.url.trim() }));
    if (webhooks.length) out.webhooks = webhooks;
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
            input('steps', 'steps', { placeholder: plan ?? '5:30s,25:1m,100' }),
            plan === undefined
              ? 'PERCENT:HOLD, comma-separated; the last step is usually 100. Empty: the server default.'
              : `PERCENT:HOLD, comma-separated; the last step is usually 100. The server's default plan is ${plan}.`,
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
            {field(
              'analysis.interval',
              'Interval',
              input('analysis.interval', 'interval', { placeholder: ph.interval ?? '' }),
              'How often the judge looks.',
            )}
          </div>
          <p className="help">
            A check fails only when the canary is shown worse than stable by more than <em>both</em> parts of its tolerance. Empty fields
            keep the defaults shown.
          </p>
          <div className="grid-3">
            {field(
              'analysis.latency.tolerance',
              'Latency tolerance (%)',
              input('analysis.latency.tolerance', 'latTolerance', { inputMode: 'decimal', placeholder: ph.latTolerance ?? '' }),
              'Slower than stable by more than this share…',
            )}
            {field(
              'analysis.latency.minDifferenceMs',
              'Latency tolerance (ms)',
              input('analysis.latency.minDifferenceMs', 'latMinMs', { inputMode: 'decimal', placeholder: ph.latMinMs ?? '' }),
              '…and by more than this many ms.',
            )}
            {field(
              'analysis.latency.p99MaxMs',
              'p99 ceiling (ms)',
              input('analysis.latency.p99MaxMs', 'p99MaxMs', { inputMode: 'decimal', placeholder: ph.p99MaxMs ?? '' }),
              'Fails above it; "none" for no ceiling.',
            )}
            {field(
              'analysis.warmup',
              'Warm-up',
              input('analysis.warmup', 'warmup', { placeholder: ph.warmup ?? '' }),
              'The canary’s first seconds are not compared for latency; 0 for none.',
            )}
            {field(
              'analysis.errorRate.tolerance',
              'Error tolerance (%)',
              input('analysis.errorRate.tolerance', 'errTolerance', { inputMode: 'decimal', placeholder: ph.errTolerance ?? '' }),
              'Above stable’s rate by more than this share (10 = 1.1×)…',
            )}
            {field(
              'analysis.errorRate.minDifference',
              'Error tolerance (pp)',
              input('analysis.errorRate.minDifference', 'errMinPp', { inputMode: 'decimal', placeholder: ph.errMinPp ?? '' }),
              '…and by more than this many percentage points.',
            )}
            {field(
              'analysis.errorRate.max',
              'Error-rate ceiling (%)',
              input('analysis.errorRate.max', 'errMax', { inputMode: 'decimal', placeholder: ph.errMax ?? '' }),
              'Counts from the first request; "none" for no ceiling.',
            )}
            {field(
              'analysis.minRequests',
              'Minimum requests',
              input('analysis.minRequests', 'minRequests', { inputMode: 'numeric', placeholder: ph.minRequests ?? '' }),
              'Per version and step, before the evidence counts.',
            )}
          </div>
          <div className={`field${errors['analysis.feedback'] ? ' field-invalid' : ''}`} data-field="analysis.feedback">
            <label className="check">
              <input type="checkbox" name="analysis.feedback" checked={feedbackOn} onChange={(e) => setFeedbackOn(e.target.checked)} />{' '}
              Compare user feedback with stable’s
            </label>
            {errors['analysis.feedback'] && (
              <p className="field-error" data-error-for="analysis.feedback">
                {errors['analysis.feedback'].join(' ')}
              </p>
            )}
          </div>
          {feedbackOn && (
            <div className="grid-3">
              {field(
                'analysis.feedback.tolerance',
                'Feedback tolerance (points)',
                input('analysis.feedback.tolerance', 'feedbackTolerance', {
                  inputMode: 'decimal',
                  placeholder: ph.feedbackTolerance ?? '',
                }),
                'Fails when the canary’s mean score is this far below stable’s.',
              )}
              {field(
                'analysis.feedback.minScore',
                'Minimum score (optional)',
                input('analysis.feedback.minScore', 'feedbackMin', { inputMode: 'decimal', placeholder: ph.feedbackMin ?? '' }),
                'Also fails below this mean score, 1–5.',
              )}
            </div>
          )}
          {errors.analysis && (
            <p className="field-error" data-error-for="analysis">
              {errors.analysis.join(' ')}
            </p>
          )}
        </fieldset>
        <fieldset className="fieldset" data-field="webhooks">
          <legend>Webhooks</legend>
          <p className="help">
            Called for this release, besides the service’s own. Gates hold the release until they answer 2xx; event hooks are told of every
            change.
          </p>
          {hooks.map((h, i) => (
            <div className="webhook-row" key={i} data-webhook={i}>
              <select
                aria-label={`Webhook ${i + 1} type`}
                name={`webhooks[${i}].type`}
                value={h.type}
                onChange={(e) => setHook(i, { type: e.target.value as WebhookType })}
              >
                {WEBHOOK_TYPES.map((t) => (
                  <option key={t} value={t}>
                    {t}: {WEBHOOK_HELP[t]}
                  </option>
                ))}
              </select>
              <input
                aria-label={`Webhook ${i + 1} URL`}
                name={`webhooks[${i}].url`}
                value={h.url}
                onChange={(e) => setHook(i, { url: e.target.value })}
                placeholder="https://ci.example/hooks/tern"
                inputMode="url"
                autoComplete="off"
                aria-invalid={errors.webhooks ? true : undefined}
              />
              <button type="button" className="btn" onClick={() => setHooks((list) => list.filter((_, j) => j !== i))}>
                Remove webhook {i + 1}
              </button>
            </div>
          ))}
          <button type="button" className="btn" onClick={() => setHooks((list) => [...list, { type: 'event', url: '' }])}>
            Add a webhook
          </button>
          {errors.webhooks && (
            <p className="field-error" data-error-for="webhooks">
              {errors.webhooks.join(' ')}
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
