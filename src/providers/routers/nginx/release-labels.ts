/**
 * Version labels of the releases a data plane has executed: the evidence log names a request's
 * release and side (`s`/`c`), and windows need the version label. Kept past a release's end so
 * log lines still buffered when the table moved on are attributed; bounded (oldest forgotten).
 */
import type { RoutingTable } from '../../../core/types.js';

const MAX_RELEASES = 1_000;

export class ReleaseLabels {
  readonly #byRelease = new Map<string, { readonly stable: string; readonly canary: string }>();

  /** Remembers the labels of every release in `table`. */
  note(table: RoutingTable): void {
    for (const route of table.routes) {
      if (route.canary === null) continue;
      this.#byRelease.delete(route.canary.releaseId);
      this.#byRelease.set(route.canary.releaseId, { stable: route.stable.version, canary: route.canary.version });
    }
    while (this.#byRelease.size > MAX_RELEASES) this.#byRelease.delete(this.#byRelease.keys().next().value!);
  }

  /** The label of `side` ('s' or 'c') in `releaseId`, or null when the release is unknown. */
  labelOf(releaseId: string, side: string): string | null {
    const r = this.#byRelease.get(releaseId);
    if (r === undefined) return null;
    return side === 'c' ? r.canary : r.stable;
  }
}
