/** The services page: each service's stable version, active release (and the version it moves to), live weight and health. */
import type { AnalysisResponse, Service } from '../api';
import { enc } from '../api';
import { StatusBadge, Empty, ErrorState, Loading, OutcomeBadge, StaleBanner } from '../components/states';
import { pct } from '../format';
import { useResource } from '../hooks';
import { Link, useTitle } from '../router';
import { useLiveEvents, useSession } from '../session';

interface Row {
  readonly service: Service;
  readonly analysis: AnalysisResponse | null;
}

export function ServicesPage() {
  useTitle('Services');
  const { api } = useSession();
  const rows = useResource<Row[]>(async () => {
    const { services } = await api.get<{ services: Service[] }>('/api/v1/services');
    return Promise.all(
      services.map(async (service) => ({
        service,
        analysis: service.activeRelease
          ? await api.get<AnalysisResponse>(`/api/v1/releases/${enc(service.activeRelease.id)}/analysis`).catch(() => null)
          : null,
      })),
    );
  }, [api]);
  useLiveEvents((e) => {
    if (e.kind === 'service' || e.kind === 'release') rows.reload();
  });

  return (
    <main id="main" className="page">
      <h1>Services</h1>
      {rows.data === undefined ? (
        rows.error ? (
          <ErrorState error={rows.error} retry={rows.reload} what="services" />
        ) : (
          <Loading what="services" />
        )
      ) : rows.data.length === 0 ? (
        <Empty>
          <p>
            <strong>No services yet.</strong> An admin creates one with <code>tern service create</code> or{' '}
            <code>POST /api/v1/services</code>; it shows up here at once.
          </p>
        </Empty>
      ) : (
        <>
          <StaleBanner error={rows.error} />
          <div className="table-wrap">
            <table className="table services-table">
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  <th scope="col">Stable</th>
                  <th scope="col">Active release</th>
                  <th scope="col">Canary weight</th>
                  <th scope="col">Health</th>
                </tr>
              </thead>
              <tbody>
                {rows.data.map(({ service, analysis }) => (
                  <tr key={service.name} data-service={service.name}>
                    <th scope="row">
                      <Link to={`/services/${enc(service.name)}`}>{service.name}</Link>
                      <div className="muted small">
                        {service.match.host ?? ''}
                        {service.match.pathPrefix ?? ''}
                      </div>
                    </th>
                    <td>
                      <code>{service.stable.version}</code>
                      <div className="muted small">
                        {service.stable.endpoints.length} endpoint{service.stable.endpoints.length === 1 ? '' : 's'}
                      </div>
                    </td>
                    <td>
                      {service.activeRelease ? (
                        <Link to={`/releases/${enc(service.activeRelease.id)}`}>
                          <StatusBadge status={service.activeRelease.status} />{' '}
                          <span data-testid="target-version">
                            to <code>{service.activeRelease.version}</code>
                          </span>
                        </Link>
                      ) : (
                        <span className="muted">none</span>
                      )}
                    </td>
                    <td className="num" data-live-weight>
                      {service.activeRelease ? <WeightBar weight={service.activeRelease.weight} /> : <span className="muted">—</span>}
                    </td>
                    <td>
                      <Health active={service.activeRelease !== null} analysis={analysis} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </main>
  );
}

function Health({ active, analysis }: { active: boolean; analysis: AnalysisResponse | null }) {
  if (!active) return <span className="muted">stable only</span>;
  if (!analysis) return <span className="muted">unknown</span>;
  const open = analysis.alerts.filter((a) => a.resolvedAt === null);
  const latest = analysis.verdicts[0];
  return (
    <span className="health">
      {latest ? <OutcomeBadge outcome={latest.outcome} /> : <span className="muted">no verdict yet</span>}
      {open.length > 0 && (
        <span className="badge outcome-fail">
          {open.length} open alert{open.length === 1 ? '' : 's'}
        </span>
      )}
    </span>
  );
}

export function WeightBar({ weight }: { weight: number }) {
  return (
    <span className="weight">
      <span className="weight-num">{pct(weight)}</span>
      <span className="weight-bar" aria-hidden="true">
        <span style={{ width: `${Math.min(100, Math.max(0, weight))}%` }} />
      </span>
    </span>
  );
}
