/**
 * A release's instance logs: when a deploy driver (the `process` driver) started the canary,
 * the last lines each instance wrote (`GET /api/v1/releases/:id/logs`), refreshed every 2 s
 * while the release runs. Releases with static endpoints have no logs, so no panel.
 */
import { type Release, type ReleaseLogs, FINAL_STATUSES, enc } from '../api';
import { Empty, ErrorState, Loading } from '../components/states';
import { useInterval, useResource } from '../hooks';
import { useSession } from '../session';

/** Lines per instance the panel asks for. */
const LINES = 200;

export function InstanceLogs({ release }: { release: Release }) {
  const { api } = useSession();
  const logs = useResource(() => api.get<ReleaseLogs>(`/api/v1/releases/${enc(release.id)}/logs?lines=${LINES}`), [api, release.id]);
  const d = release.deployment;
  const running = d !== null && d.state !== 'retired' && !FINAL_STATUSES.includes(release.status);
  useInterval(logs.reload, 2000, running || (d !== null && d.state === 'starting'));
  if (d === null) return null;
  return (
    <section className="card" aria-labelledby="logs-h" data-testid="logs">
      <h2 id="logs-h">Instance logs</h2>
      <p className="muted small">
        Started by the {d.driver} driver · {d.state} · the last {LINES} lines of each instance’s output (also{' '}
        <code>tern release logs {release.id}</code>).
      </p>
      {logs.data === undefined ? (
        logs.error ? (
          <ErrorState error={logs.error} retry={logs.reload} what="logs" />
        ) : (
          <Loading what="logs" />
        )
      ) : logs.data.instances.length === 0 ? (
        <Empty>
          <p>No instance has started yet.</p>
        </Empty>
      ) : (
        logs.data.instances.map((i) => (
          <div key={i.index} className="log-instance" data-instance={i.index}>
            <div className="small">
              <strong>instance {i.index + 1}</strong> · pid {i.pid} · <code>{i.endpoint}</code> · {i.state}
            </div>
            {i.lines.length === 0 ? (
              <p className="muted small">No output yet.</p>
            ) : (
              <pre className="log-lines" tabIndex={0} aria-label={`Output of instance ${i.index + 1}`}>
                {i.lines.join('\n')}
              </pre>
            )}
          </div>
        ))
      )}
    </section>
  );
}
