/** One service: how it is matched and its stable version, and its release history. */
import { type Release, type Service, enc } from '../api';
import { ErrorState, Empty, Loading, StaleBanner, StatusBadge } from '../components/states';
import { ago, duration, pct, time } from '../format';
import { useNow, useResource } from '../hooks';
import { Link, useTitle } from '../router';
import { useLiveEvents, useSession } from '../session';

export function ServicePage({ name }: { name: string }) {
  useTitle(name);
  const { api, can } = useSession();
  const now = useNow(10_000);
  const service = useResource(() => api.get<Service>(`/api/v1/services/${enc(name)}`), [api, name]);
  const history = useResource(() => api.get<{ releases: Release[] }>(`/api/v1/services/${enc(name)}/releases?limit=100`), [api, name]);
  useLiveEvents((e) => {
    if (e.service === name) {
      service.reload();
      history.reload();
    }
  });

  if (service.data === undefined) {
    return (
      <main id="main" className="page">
        <h1>{name}</h1>
        {service.error ? <ErrorState error={service.error} retry={service.reload} what="service" /> : <Loading what="service" />}
      </main>
    );
  }
  const s = service.data;
  return (
    <main id="main" className="page">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/">Services</Link> / <span aria-current="page">{s.name}</span>
      </nav>
      <div className="page-head">
        <h1>{s.name}</h1>
        {can('release') && !s.activeRelease && (
          <Link className="btn btn-primary" to={`/services/${enc(s.name)}/releases/new`}>
            Start a release
          </Link>
        )}
      </div>
      <StaleBanner error={service.error ?? history.error} />
      <section className="card" aria-labelledby="svc-h">
        <h2 id="svc-h">Service</h2>
        <dl className="kv">
          <dt>Stable version</dt>
          <dd>
            <code>{s.stable.version}</code>
          </dd>
          <dt>Stable endpoints</dt>
          <dd>{s.stable.endpoints.join(', ')}</dd>
          <dt>Matches</dt>
          <dd>
            {s.match.host ? `host ${s.match.host} ` : ''}
            {s.match.pathPrefix ? `path ${s.match.pathPrefix}*` : ''}
          </dd>
          <dt>Users identified by</dt>
          <dd>
            {s.stickiness.header ? `header ${s.stickiness.header}, else cookie ${s.stickiness.cookie}` : `cookie ${s.stickiness.cookie}`}
          </dd>
          <dt>Active release</dt>
          <dd>
            {s.activeRelease ? (
              <Link to={`/releases/${enc(s.activeRelease.id)}`}>
                <StatusBadge status={s.activeRelease.status} /> at {pct(s.activeRelease.weight)}
              </Link>
            ) : (
              'none'
            )}
          </dd>
        </dl>
      </section>
      <section className="card" aria-labelledby="hist-h">
        <h2 id="hist-h">Release history</h2>
        {history.data === undefined ? (
          history.error ? (
            <ErrorState error={history.error} retry={history.reload} what="releases" />
          ) : (
            <Loading what="releases" />
          )
        ) : history.data.releases.length === 0 ? (
          <Empty>
            <p>No releases of {s.name} yet.</p>
          </Empty>
        ) : (
          <div className="table-wrap">
            <table className="table stack">
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Status</th>
                  <th scope="col">Weight</th>
                  <th scope="col">Started</th>
                  <th scope="col">Took</th>
                  <th scope="col">By</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {history.data.releases.map((r) => (
                  <tr key={r.id} data-release={r.id}>
                    <th scope="row">
                      <Link to={`/releases/${enc(r.id)}`}>
                        <code>{r.version}</code>
                      </Link>
                    </th>
                    <td data-label="Status">
                      <StatusBadge status={r.status} />
                    </td>
                    <td className="num" data-label="Weight">
                      {pct(r.weight)}
                    </td>
                    <td title={time(r.startedAt)} data-label="Started">
                      {ago(r.startedAt, now)}
                    </td>
                    <td data-label="Took">{duration((r.endedAt ? Date.parse(r.endedAt) : now) - Date.parse(r.startedAt))}</td>
                    <td data-label="By">{r.createdBy}</td>
                    <td className="reason" data-label="Reason">
                      {r.reason ?? ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </main>
  );
}
