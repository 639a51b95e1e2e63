/**
 * The operator actions on a release — promote (next step or fully), roll back, pause, resume,
 * set weight — shown only to roles with release access (the API enforces the same rule).
 * Each asks for a reason (kept in the audit log) in a modal dialog and reports the result.
 */
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError, FINAL_STATUSES, type Release, enc } from '../api';
import { pct, statusLabel } from '../format';
import { useSession } from '../session';

type ActionKind = 'promote' | 'promote-full' | 'rollback' | 'pause' | 'resume' | 'weight';

interface ActionSpec {
  readonly label: string;
  readonly title: string;
  readonly explain: (r: Release) => string;
  readonly danger?: boolean;
  readonly available: (r: Release) => boolean;
}

const ACTIVE = (r: Release) => !FINAL_STATUSES.includes(r.status) && r.status !== 'rolling_back' && r.status !== 'promoting';

const ACTIONS: Readonly<Record<ActionKind, ActionSpec>> = {
  promote: {
    label: 'Promote to next step',
    title: 'Promote to the next step',
    explain: (r) => {
      const next = r.steps.find((s) => s.weight > r.weight);
      return next
        ? `The canary goes to ${pct(next.weight)} of users now, without waiting for the hold or analysis.`
        : 'No step is left: the canary becomes stable.';
    },
    available: (r) => ACTIVE(r),
  },
  'promote-full': {
    label: 'Promote fully',
    title: 'Promote fully (skip the remaining steps)',
    explain: (r) => `Every user goes to ${r.version} and it becomes the stable version of ${r.service}.`,
    available: (r) => ACTIVE(r),
  },
  pause: {
    label: 'Pause',
    title: 'Pause automatic stepping',
    explain: () => 'The weight stays where it is until someone resumes, promotes or rolls back.',
    available: (r) => r.status === 'progressing' || r.status === 'pending',
  },
  resume: {
    label: 'Resume',
    title: 'Resume automatic stepping',
    explain: () => 'The controller continues the plan from the current step.',
    available: (r) => r.status === 'paused',
  },
  weight: {
    label: 'Set weight…',
    title: 'Set the canary weight by hand',
    explain: () => 'Sets the share of users on the canary and pauses automatic stepping.',
    available: (r) => ACTIVE(r),
  },
  rollback: {
    label: 'Roll back',
    title: 'Roll back',
    explain: (r) => `All users go back to ${r.baseline.version}; this release ends.`,
    danger: true,
    available: (r) => ACTIVE(r),
  },
};

export interface ActionResult {
  readonly ok: boolean;
  readonly message: string;
}

export function ReleaseActions({ release, onDone }: { release: Release; onDone: (result: ActionResult, updated?: Release) => void }) {
  const { can } = useSession();
  const [open, setOpen] = useState<ActionKind | null>(null);
  if (!can('release')) return null;
  const kinds = (Object.keys(ACTIONS) as ActionKind[]).filter((k) => ACTIONS[k].available(release));
  if (kinds.length === 0) return null;
  return (
    <section className="card actions" aria-labelledby="actions-h">
      <h2 id="actions-h">Actions</h2>
      <div className="action-row">
        {kinds.map((k) => (
          <button
            key={k}
            type="button"
            className={`btn ${ACTIONS[k].danger ? 'btn-danger' : k === 'promote-full' ? 'btn-primary' : ''}`}
            data-action={k}
            onClick={() => setOpen(k)}
          >
            {ACTIONS[k].label}
          </button>
        ))}
      </div>
      {open && (
        <ActionDialog
          kind={open}
          release={release}
          onClose={() => setOpen(null)}
          onDone={(result, updated) => {
            setOpen(null);
            onDone(result, updated);
          }}
        />
      )}
    </section>
  );
}

function ActionDialog(props: {
  kind: ActionKind;
  release: Release;
  onClose: () => void;
  onDone: (r: ActionResult, updated: Release) => void;
}) {
  const { api } = useSession();
  const spec = ACTIONS[props.kind];
  const ref = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [weight, setWeight] = useState(String(props.release.weight));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (reason.trim() === '') {
      setError('Say why: the reason is kept in the audit log.');
      return;
    }
    setBusy(true);
    setError(null);
    const id = enc(props.release.id);
    try {
      let updated: Release;
      switch (props.kind) {
        case 'weight':
          updated = await api.send<Release>('PUT', `/api/v1/releases/${id}/weight`, { weight: Number(weight), reason: reason.trim() });
          break;
        case 'promote-full':
          updated = await api.send<Release>('POST', `/api/v1/releases/${id}/promote`, { full: true, reason: reason.trim() });
          break;
        default:
          updated = await api.send<Release>('POST', `/api/v1/releases/${id}/${props.kind}`, { reason: reason.trim() });
      }
      props.onDone(
        { ok: true, message: `${spec.title}: done. Status ${statusLabel(updated.status)}, weight ${pct(updated.weight)}.` },
        updated,
      );
    } catch (err) {
      setBusy(false);
      setError(err instanceof ApiError ? `${err.message}${err.code ? ` (${err.code})` : ''}` : String(err));
    }
  };

  return (
    <dialog ref={ref} className="dialog" aria-labelledby="dialog-h" onCancel={props.onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <h2 id="dialog-h">{spec.title}</h2>
        <p>
          {props.release.service} {props.release.version}: {spec.explain(props.release)}
        </p>
        {props.kind === 'weight' && (
          <label className="field">
            <span>Canary weight (percent of users, 0–100)</span>
            <input
              name="weight"
              type="number"
              min={0}
              max={100}
              step={0.01}
              value={weight}
              onChange={(e) => setWeight(e.target.value)}
              required
            />
          </label>
        )}
        <label className="field">
          <span>Reason (kept in the audit log)</span>
          <textarea name="reason" rows={3} maxLength={1024} value={reason} onChange={(e) => setReason(e.target.value)} required autoFocus />
        </label>
        {error && (
          <p className="field-error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-buttons">
          <button type="button" className="btn" onClick={props.onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className={`btn ${spec.danger ? 'btn-danger' : 'btn-primary'}`} disabled={busy} data-confirm={props.kind}>
            {busy ? 'Working…' : spec.label.replace('…', '')}
          </button>
        </div>
      </form>
    </dialog>
  );
}
