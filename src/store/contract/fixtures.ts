/**
 * Inputs for the contract suite: services, releases and audit events the way the API and
 * controller would build them, plus small helpers to drive a release through its states.
 */
import { randomUUID } from 'node:crypto';
import { compileAnalysis, compilePlan } from '../../core/plan.js';
import { transition } from '../../core/release-state.js';
import type { AuditInput, MetricWindow, Release, ReleaseStatus } from '../../core/types.js';
import type { AuditFilter, ReleaseInput, ServiceInput, Store } from '../store.js';

export function auditOf(action: string, target: string, extra: Partial<AuditInput> = {}): AuditInput {
  return { actor: 'token:ci', source: '127.0.0.1', action, target, outcome: 'success', reason: null, detail: null, ...extra };
}

export function serviceInput(name: string, extra: Partial<ServiceInput> = {}): ServiceInput {
  return {
    name,
    match: { pathPrefix: `/${name}` },
    stickiness: { header: 'x-user-id', cookie: 'tern_uid' },
    stable: { version: 'v1', endpoints: ['http://127.0.0.1:9001'] },
    rules: [{ header: 'x-tester', equals: '1', target: 'canary' }],
    ...extra,
  };
}

/** A release as the API starts it: pending, weight 0, started a minute ago. */
export function releaseInput(service: string, extra: Partial<ReleaseInput> = {}): ReleaseInput {
  return {
    id: randomUUID(),
    service,
    version: 'v2',
    endpoints: ['http://127.0.0.1:9002'],
    status: 'pending',
    stepIndex: 0,
    weight: 0,
    salt: randomUUID(),
    steps: compilePlan('5,50,100'),
    analysis: compileAnalysis(undefined),
    metadata: { commit: '9f8d111' },
    webhooks: [],
    deployment: null,
    createdBy: 'token:ci',
    startedAt: Date.now() - 60_000,
    ...extra,
  };
}

export async function createServiceWith(store: Store, name: string, extra: Partial<ServiceInput> = {}): Promise<void> {
  await store.createService(serviceInput(name, extra), auditOf('service.create', `service/${name}`));
}

export async function startRelease(store: Store, service: string, extra: Partial<ReleaseInput> = {}): Promise<Release> {
  const input = releaseInput(service, extra);
  return store.createRelease(input, auditOf('release.create', `release/${input.id}`));
}

/** Moves a release through `statuses` one legal transition at a time, each audited. */
export async function moveRelease(store: Store, id: string, ...statuses: ReleaseStatus[]): Promise<Release> {
  let last: Release | undefined;
  for (const to of statuses) {
    last = await store.updateRelease(id, (r) => transition(r, to, Date.now()), auditOf(`release.${to}`, `release/${id}`));
  }
  if (!last) throw new Error('moveRelease needs at least one status');
  return last;
}

export async function auditCount(store: Store, filter: AuditFilter = {}): Promise<number> {
  return (await store.listAudit({ ...filter, limit: 1000 })).length;
}

export function metricWindow(releaseId: string, version: string, windowStart: number, extra: Partial<MetricWindow> = {}): MetricWindow {
  return {
    releaseId,
    version,
    windowStart,
    windowMs: 1000,
    requests: 10,
    errors: 1,
    latency: { '10': 6, '12': 4 },
    feedbackSum: 0,
    feedbackCount: 0,
    ...extra,
  };
}
