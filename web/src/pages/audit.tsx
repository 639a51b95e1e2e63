/** The audit log with filters (service, actor, action, since, outcome), kept in the URL. */
import { type FormEvent, useState } from 'react';
import { type AuditEvent, enc } from '../api';
import { Empty, ErrorState, Loading, StaleBanner } from '../components/states';
import { time } from '../format';
import { useResource } from '../hooks';
import { Link, navigate, useLocation, useTitle } from '../router';
import { useLiveEvents, useSession } from '../session';

const FILTERS = ['service', 'actor', 'action', 'since'] as const;
type Filter = (typeof FILTERS)[number];

export function AuditPage() {
  useTitle('Audit log');
  const { api } = useSession();
  const { search } = useLocation();
  const applied = Object.fromEntries(FILTERS.map((f) => [f, search.get(f) ?? ''])) as Record<Filter, string>;
  const outcome = search.get('outcome') ?? '';
  const [draft, setDraft] = useState({ ...applied, outcome });
  const query = new URLSearchParams();
  for (const f of FILTERS) if (applied[f]) query.set(f, f === 'since' ? sinceParam(applied[f]) : applied[f]);
  query.set('limit', '500');
  const qs = query.toString();
  const log = useResource(() => api.get<{ events: AuditEvent[] }>(`/api/v1/audit?${qs}`), [api, qs]);
  useLiveEvents(() => log.reload());

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of Object.entries(draft)) if (v.trim()) next.set(k, v.trim());
    navigate(`/audit${next.size ? `?${next.toString()}` : ''}`);
  };
  const shown = log.data?.events.filter((e) => !outcome || e.outcome === outcome);

  return (
    <main id="main" className="page">
      <h1>Audit log</h1>
      <form className="card filters" onSubmit={submit} aria-label="Filter the audit log">
        {FILTERS.map((f) => (
          <label key={f} className="field">
            <span>{f === 'since' ? 'Since (ISO time or e.g. 1h)' : f[0]!.toUpperCase() + f.slice(1)}</span>
            <input
              name={f}
              value={draft[f]}
              onChange={(e) => setDraft((d) => ({ ...d, [f]: e.target.value }))}
              placeholder={{ service: 'checkout', actor: 'token:ci or system', action: 'release.rollback', since: '1h' }[f]}
            />
          </label>
        ))}
        <label className="field">
          <span>Outcome</span>
          <select name="outcome" value={draft.outcome} onChange={(e) => setDraft((d) => ({ ...d, outcome: e.target.value }))}>
            <option value="">any</option>
            <option value="success">success</option>
            <option value="denied">denied</option>
            <option value="rejected">rejected</option>
            <option value="error">error</option>
          </select>
        </label>
        <div className="filter-buttons">
          <button type="submit" className="btn btn-primary">
            Apply
          </button>
          <button
            type="button"
            className="btn"
            onClick={() => {
              setDraft({ service: '', actor: '', action: '', since: '', outcome: '' });
              navigate('/audit');
            }}
          >
            Clear
          </button>
        </div>
      </form>
      {shown === undefined ? (
        log.error ? (
          <ErrorState error={log.error} retry={log.reload} what="audit events" />
        ) : (
          <Loading what="audit events" />
        )
      ) : shown.length === 0 ? (
        <Empty>
          <p>No audit events match these filters.</p>
        </Empty>
      ) : (
        <>
          <StaleBanner error={log.error} />
          <div className="table-wrap">
            <table className="table audit-table stack" data-testid="audit">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((e) => (
                  <tr key={e.id} data-action={e.action} data-outcome={e.outcome}>
                    <td data-label="Time">
                      <time dateTime={e.at}>{time(e.at)}</time>
                    </td>
                    <td data-label="Actor">{e.actor}</td>
                    <td data-label="Action">
                      <code>{e.action}</code>
                    </td>
                    <td data-label="Target">
                      <Target target={e.target} />
                    </td>
                    <td data-label="Outcome">
                      <span className={`badge audit-${e.outcome}`}>{e.outcome}</span>
                    </td>
                    <td className="reason" data-label="Reason">
                      {e.reason ?? ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="muted small">
            {shown.length} event{shown.length === 1 ? '' : 's'} (newest first, at most 500).
          </p>
        </>
      )}
    </main>
  );
}

function Target({ target }: { target: string }) {
  const [kind, id] = target.split('/', 2);
  if (kind === 'release' && id && id !== '*') return <Link to={`/releases/${enc(id)}`}>{target}</Link>;
  if (kind === 'service' && id && id !== '*') return <Link to={`/services/${enc(id)}`}>{target}</Link>;
  return <span>{target}</span>;
}

/** "1h", "30m", "2d" become an ISO time; anything else goes to the API as written. */
function sinceParam(text: string): string {
  const m = /^(\d+)\s*(m|h|d)$/.exec(text.trim());
  if (!m) return text.trim();
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
  return new Date(Date.now() - Number(m[1]) * unit).toISOString();
}
