/** One service: how it is matched, how users are identified, its match rules, its stable version, and its release history. */
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
          <dd data-testid="stickiness">{stickinessWords(s.stickiness)}</dd>
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
      <Rules service={s} />
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

/** Where the sticky user key comes from, in the gateway's order. */
export function stickinessWords(st: Service['stickiness']): string {
  return st.header
    ? `header ${st.header}, else cookie ${st.cookie}, else client IP`
    : `cookie ${st.cookie} (set by the gateway), else client IP`;
}

/** One rule in words: `header x-tester equals "1"` or `cookie beta matches /^on$/`. */
export function ruleWords(r: Service['rules'][number]): string {
  const source = r.header !== undefined ? `header ${r.header}` : `cookie ${r.cookie ?? ''}`;
  const test = r.regex !== undefined ? `matches /${r.regex}/` : `equals "${r.equals ?? ''}"`;
  return `${source} ${test}`;
}

function Rules({ service }: { service: Service }) {
  return (
    <section className="card" aria-labelledby="rules-h">
      <h2 id="rules-h">Match rules</h2>
      {service.rules.length === 0 ? (
        <p className="muted" data-testid="no-rules">
          None: every user goes by the sticky split. Rules (e.g. testers always on the canary) are set with{' '}
          <code>tern service rules add</code>.
        </p>
      ) : (
        <>
          <p className="muted small">Checked in order before the sticky split; the first that matches picks the version.</p>
          <div className="table-wrap">
            <table className="table" data-testid="rules">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">When the request's</th>
                  <th scope="col">Goes to</th>
                </tr>
              </thead>
              <tbody>
                {service.rules.map((r, i) => (
                  <tr key={i} data-rule={i}>
                    <td className="num">{i + 1}</td>
                    <td>
                      <code>{ruleWords(r)}</code>
                    </td>
                    <td>{r.target}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
