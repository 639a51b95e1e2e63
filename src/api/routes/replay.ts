/**
 * What-if replay: `POST /api/v1/releases/:id/replay` re-judges a release's stored evidence under
 * other analysis settings and answers, step by step, when and why it would have failed or passed
 * next to what really happened. Read-only (viewers may call it): it writes nothing, so only a
 * refused or failed call is audited.
 */
import { replayRelease } from '../../control/replay.js';
import { realTimeline } from '../../control/timeline.js';
import { overrideAnalysis } from '../../core/analysis-override.js';
import { replayJson } from '../present-replay.js';
import type { ApiDeps, TernApp } from '../route-config.js';
import { ERROR_RESPONSES, IdParams } from '../schemas/common.js';
import { ReplayBody, ReplayResponse } from '../schemas/replay.js';
import { releaseEvents } from './evidence.js';
import { mustGetRelease } from './releases.js';

/** Registers the replay route. */
export function registerReplayRoutes(app: TernApp, { store, clock }: ApiDeps): void {
  app.post(
    '/api/v1/releases/:id/replay',
    {
      config: { access: 'read', audit: { action: 'release.replay', target: 'release/:id', failuresOnly: true } },
      schema: {
        tags: ['evidence'],
        summary: 'What-if replay: judge the release’s stored evidence again under other analysis settings',
        description:
          "Walks the release's real steps second by second as the controller would, with `analysis` merged over the release's own settings, and reports per step what really happened and what the replay says (failed at, passed at, undecided). Writes nothing.",
        params: IdParams,
        body: ReplayBody,
        response: { 200: ReplayResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const release = await mustGetRelease(store, request.params.id);
      const analysis = overrideAnalysis(release.analysis, request.body.analysis, 'body.analysis');
      const [windows, events] = await Promise.all([store.listMetricWindows(release.id), releaseEvents(store, release)]);
      const report = replayRelease({ release, timeline: realTimeline(release, events), windows, analysis, now: clock() });
      return replayJson(report, release);
    },
  );
}
