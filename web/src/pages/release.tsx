/**
 * A release: the plan as a step timeline (current step, remaining hold), the live weight,
 * stable-vs-canary charts, the judges' verdicts with statistic and bound per check, alerts
 * (release-evidence.tsx), the what-if replay panel (release-replay.tsx), the instances' logs when a
 * deploy driver started them (release-logs.tsx), the event timeline, and the metadata with the
 * analysis settings in plain words and the webhooks. Release changes arrive over the event stream; metric
 * windows and verdicts (not store changes) are polled every 2 s while the release runs.
 */
import { useState } from 'react';
import { type AnalysisResponse, type ApiError, type AuditEvent, FINAL_STATUSES, type MetricsResponse, type Release, enc } from '../api';
import { type ActionResult, ReleaseActions } from '../components/actions';
import { Empty, ErrorState, Loading, StaleBanner, StatusBadge } from '../components/states';
// Shared with `tern release status`, so both say the settings in the same words.
import { describeChecks, judgeWords } from '../../../src/core/analysis-words';
import { duration, isHttpUrl, pct, statusLabel, time } from '../format';
import { useInterval, useNow, useResource } from '../hooks';
import { Link, useTitle } from '../router';
import { useLiveEvents, useSession } from '../session';
import { Alerts, CheckTable, Evidence, Verdicts } from './release-evidence';
import { InstanceLogs } from './release-logs';
import { WhatIf } from './release-replay';

/** Charts show at most this much history (the API keeps every window). */
const CHART_SPAN_MS = 15 * 60_000;

export function ReleasePage({ id }: { id: string }) {
  const { api } = useSession();
  const release = useResource(() => api.get<Release>(`/api/v1/releases/${enc(id)}`), [api, id]);
  const analysis = useResource(() => api.get<AnalysisResponse>(`/api/v1/releases/${enc(id)}/analysis`), [api, id]);
  const events = useResource(() => api.get<{ events: AuditEvent[] }>(`/api/v1/releases/${enc(id)}/events`), [api, id]);
  const r = release.data;
  const sinceMs = r ? Math.max(Date.parse(r.startedAt) - 60_000, (r.endedAt ? Date.parse(r.endedAt) : Date.now()) - CHART_SPAN_MS) : 0;
  // Metrics wait for the release (their time span depends on it); the loader then follows it.
  const metrics = useResource<MetricsResponse>(
    () =>
      r
        ? api.get<MetricsResponse>(`/api/v1/releases/${enc(id)}/metrics?since=${Math.floor(sinceMs)}&limit=10000`)
        : new Promise<MetricsResponse>(() => undefined),
    [api, id, r === undefined],
  );
  const [result, setResult] = useState<ActionResult | null>(null);
  useTitle(r ? `${r.service} ${r.version}` : 'Release');

  useLiveEvents((e) => {
    if (e.kind === 'release' && e.id === id) {
      release.reload();
      events.reload();
      analysis.reload();
    }
  });
  const active = r !== undefined && !FINAL_STATUSES.includes(r.status);
  useInterval(
    () => {
      metrics.reload();
      analysis.reload();
    },
    2000,
    active,
  );

  if (!r) {
    return (
      <main id="main" className="page">
        <h1>Release</h1>
        {release.error ? <ErrorState error={release.error} retry={release.reload} what="release" /> : <Loading what="release" />}
      </main>
    );
  }

  return (
    <main id="main" className="page release-page" data-release={r.id} data-status={r.status}>
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/">Services</Link> / <Link to={`/services/${enc(r.service)}`}>{r.service}</Link> /{' '}
        <span aria-current="page">{r.version}</span>
      </nav>
      <header className="release-head">
        <div>
          <h1>
            {r.service} <code>{r.version}</code>
          </h1>
          <p className="muted">
            replacing <code>{r.baseline.version}</code> · started {time(r.startedAt)} by {r.createdBy}
            {r.endedAt ? ` · ended ${time(r.endedAt)}` : ''}
          </p>
        </div>
        <div className="release-stat">
          <StatusBadge status={r.status} />
          <div className="big-weight" aria-live="polite" aria-atomic="true">
            <span className="sr-only">Canary weight </span>
            <span data-testid="weight">{pct(r.weight)}</span>
            <span className="muted small"> of users on canary</span>
          </div>
        </div>
      </header>
      <StaleBanner error={release.error} />
      {result && (
        <p className={`banner ${result.ok ? 'banner-ok' : 'banner-error'}`} role="status" data-testid="action-result">
          {result.message}{' '}
          <button type="button" className="link-button" onClick={() => setResult(null)} aria-label="Dismiss">
            ×
          </button>
        </p>
      )}
      <FailureSummary release={r} analysis={analysis.data} />
      <ReleaseActions
        release={r}
        onDone={(res) => {
          setResult(res);
          release.reload();
          events.reload();
        }}
      />
      <PlanTimeline release={r} />
      <Evidence metrics={metrics.data} error={metrics.error} loading={metrics.loading} />
      <Verdicts analysis={analysis.data} error={analysis.error} release={r} />
      <WhatIf release={r} />
      <InstanceLogs release={r} />
      <div className="two-col">
        <Timeline events={events.data?.events} error={events.error} />
        <div className="side-stack">
          <Alerts analysis={analysis.data} />
          <Metadata release={r} />
        </div>
      </div>
    </main>
  );
}

/** Why a release stopped, by whom, and — when a judge did it — the failing checks and their evidence. */
function FailureSummary({ release, analysis }: { release: Release; analysis: AnalysisResponse | undefined }) {
  const failed = analysis?.verdicts.find((v) => v.outcome === 'fail');
  const stopped =
    release.status === 'rolled_back' || release.status === 'rolling_back' || release.status === 'paused' || release.status === 'failed';
  if (!stopped && !failed) return null;
  if (!failed) {
    return release.reason ? (
      <p className="banner banner-warn" data-testid="stop-reason">
        <strong>{statusLabel(release.status)}:</strong> {release.reason}
      </p>
    ) : null;
  }
  const checks = failed.checks.filter((c) => c.outcome === 'fail');
  return (
    <section className="card failure" aria-labelledby="fail-h" data-testid="failure-summary">
      <h2 id="fail-h">
        {release.status === 'rolled_back' || release.status === 'rolling_back' ? 'Rolled back by the' : 'Failed by the'} {failed.judge}{' '}
        judge at step {failed.stepIndex + 1} ({pct(release.steps[failed.stepIndex]?.weight)})
      </h2>
      {release.reason && <p className="reason-text">{release.reason}</p>}
      <CheckTable verdict={{ ...failed, checks }} />
      <p className="muted small">
        Evidence from windows {time(failed.windowFrom)} – {time(failed.windowTo)}; verdict at {time(failed.at)}.
      </p>
    </section>
  );
}

function PlanTimeline({ release }: { release: Release }) {
  const now = useNow(1000);
  const final = FINAL_STATUSES.includes(release.status);
  const held = now - Date.parse(release.stepStartedAt);
  return (
    <section className="card" aria-labelledby="plan-h">
      <h2 id="plan-h">Plan</h2>
      <ol className="steps">
        {release.steps.map((s, i) => {
          const state =
            release.status === 'promoted' || i < release.stepIndex
              ? 'done'
              : i === release.stepIndex && !final
                ? 'current'
                : i === release.stepIndex && final
                  ? 'stopped'
                  : 'todo';
          const remaining = s.holdMs - held;
          return (
            <li key={i} className={`step step-${state}`} aria-current={state === 'current' ? 'step' : undefined} data-step={i}>
              <span className="step-dot" aria-hidden="true">
                {state === 'done' ? '✓' : i + 1}
              </span>
              <span className="step-weight">{pct(s.weight)}</span>
              <span className="step-hold">
                {s.holdMs > 0 ? `hold ${s.hold}` : 'no hold'}
                {s.analysis ? ' · analysis' : ''}
              </span>
              {state === 'current' && (
                <span className="step-remaining" data-testid="remaining-hold">
                  {release.status === 'paused'
                    ? 'paused'
                    : release.status === 'pending'
                      ? 'waiting for the canary'
                      : remaining > 0
                        ? `${duration(remaining)} left`
                        : s.analysis
                          ? 'hold done · waiting for a verdict'
                          : 'hold done'}
                </span>
              )}
              {state === 'stopped' && <span className="step-remaining">{statusLabel(release.status)} here</span>}
            </li>
          );
        })}
      </ol>
      <p className="muted small">
        Current weight {pct(release.weight)}
        {release.weight !== release.steps[release.stepIndex]?.weight && !final ? ' (set by hand)' : ''} · step {release.stepIndex + 1} of{' '}
        {release.steps.length} since {time(release.stepStartedAt)}
      </p>
    </section>
  );
}

function Timeline({ events, error }: { events: AuditEvent[] | undefined; error: ApiError | null }) {
  return (
    <section className="card" aria-labelledby="tl-h">
      <h2 id="tl-h">Timeline</h2>
      {!events ? (
        error ? (
          <ErrorState error={error} what="events" />
        ) : (
          <Loading what="events" />
        )
      ) : events.length === 0 ? (
        <Empty>
          <p>No events.</p>
        </Empty>
      ) : (
        <ol className="timeline" data-testid="timeline">
          {events.map((e) => (
            <li key={e.id} className={`tl-${e.outcome}`} data-action={e.action}>
              <div>
                <strong>{e.action}</strong> <span className="muted">by {e.actor}</span>
                {e.outcome !== 'success' && <span className="badge outcome-fail"> {e.outcome}</span>}
              </div>
              {e.reason && <div className="reason">{e.reason}</div>}
              <div className="muted small">
                <time dateTime={e.at}>{time(e.at)}</time>
                {detailText(e.detail)}
              </div>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function detailText(detail: AuditEvent['detail']): string {
  if (!detail) return '';
  const parts: string[] = [];
  if (typeof detail.status === 'string') parts.push(`status ${statusLabel(detail.status)}`);
  if (typeof detail.weight === 'number') parts.push(`weight ${pct(detail.weight)}`);
  if (typeof detail.judge === 'string') parts.push(`${detail.judge} judge: ${String(detail.outcome)}`);
  return parts.length ? ` · ${parts.join(' · ')}` : '';
}

function Metadata({ release }: { release: Release }) {
  const entries = Object.entries(release.metadata);
  const a = release.analysis;
  return (
    <section className="card" aria-labelledby="meta-h">
      <h2 id="meta-h">Details</h2>
      <dl className="kv" data-testid="metadata">
        {entries.map(([k, v]) => (
          <div key={k} className="kv-row">
            <dt>{k}</dt>
            <dd>
              {isHttpUrl(v) ? (
                <a href={v} target="_blank" rel="noopener noreferrer">
                  {v}
                </a>
              ) : (
                v
              )}
            </dd>
          </div>
        ))}
        <div className="kv-row">
          <dt>canary endpoints</dt>
          <dd>{release.endpoints.length ? release.endpoints.join(', ') : 'started by a deploy driver'}</dd>
        </div>
        <div className="kv-row">
          <dt>stable endpoints</dt>
          <dd>{release.baseline.endpoints.join(', ')}</dd>
        </div>
        <div className="kv-row">
          <dt>analysis</dt>
          <dd data-testid="analysis-settings">
            {judgeWords(a)}
            <ul className="plain-list">
              {describeChecks(a).map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          </dd>
        </div>
        <div className="kv-row">
          <dt>webhooks</dt>
          <dd data-testid="webhooks">
            {release.webhooks.length === 0 ? (
              <span className="muted">none of its own (its service’s apply)</span>
            ) : (
              <ul className="plain-list">
                {release.webhooks.map((h, i) => (
                  <li key={i} data-webhook-type={h.type}>
                    {h.type} → <code>{h.url}</code>
                    <span className="muted small">
                      {' '}
                      (timeout {h.timeout}, {h.retries} retr{h.retries === 1 ? 'y' : 'ies'}
                      {h.type === 'event' ? '' : `, rolls back after ${h.maxFailures} failures`})
                    </span>
                  </li>
                ))}
              </ul>
            )}
          </dd>
        </div>
        <div className="kv-row">
          <dt>release id</dt>
          <dd>
            <code>{release.id}</code>
          </dd>
        </div>
      </dl>
    </section>
  );
}
