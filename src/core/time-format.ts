/**
 * The one way Tern shows a point in time to people, in the CLI and the dashboard alike: UTC,
 * ISO 8601 date and time to the second with the zone as `Z` (`2025-01-31 14:05:09Z`; the space
 * for the `T` as RFC 3339 §5.6 allows, for reading), so two people in two zones quote the same
 * time and a log line, an audit event and a page agree.
 */

/** `2025-01-31 14:05:09Z` for an ISO time or epoch ms; null when it is no time. */
export function formatUtc(value: string | number): string | null {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return null;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** `14:05:09Z`: the time of day in UTC (live lines, chart ticks); null when it is no time. */
export function formatUtcClock(value: string | number): string | null {
  const full = formatUtc(value);
  return full === null ? null : full.slice(11);
}
