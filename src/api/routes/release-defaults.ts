/**
 * `GET /api/v1/release-defaults`: what a release gets for what its start request leaves out —
 * the default plan and the analysis settings with every default filled. The dashboard's start
 * form shows them (so it never keeps its own copy of the server's defaults).
 */
import { DEFAULT_PLAN, compileAnalysis, compilePlan } from '../../core/plan.js';
import { analysisJson, stepJson } from '../present.js';
import type { ApiDeps, TernApp } from '../route-config.js';
import { ERROR_RESPONSES } from '../schemas/common.js';
import { ReleaseDefaults } from '../schemas/releases.js';

/** Registers the defaults route (read access). */
export function registerReleaseDefaultsRoute(app: TernApp, _deps: ApiDeps): void {
  const feedback = compileAnalysis({ feedback: {} }).feedback;
  const defaults = {
    plan: DEFAULT_PLAN,
    steps: compilePlan(undefined).map(stepJson),
    analysis: analysisJson(compileAnalysis(undefined)),
    feedback: { tolerance: feedback?.tolerance ?? 0, minScore: feedback?.minScore ?? null },
  };
  app.get(
    '/api/v1/release-defaults',
    {
      config: { access: 'read' },
      schema: {
        tags: ['releases'],
        summary: 'The plan and analysis settings a release gets when its request leaves them out',
        response: { 200: ReleaseDefaults, ...ERROR_RESPONSES },
      },
    },
    () => defaults,
  );
}
