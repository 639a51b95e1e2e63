/**
 * What the release action routes do to a release: the pure rules of core/release-rules.ts
 * (promote advances a step or finishes, rollback ends at once, pause/resume flip the status),
 * passed to `store.updateRelease`. Illegal moves throw TERN_ILLEGAL_TRANSITION and the store
 * then writes nothing.
 */
export { applyAction, promote, resume, rollback, type ReleaseAction } from '../core/release-rules.js';
