/**
 * A small client of Prometheus's HTTP query API (`/api/v1/query`, `/api/v1/query_range`) for
 * custom checks: the answer as plain series, and every failure (unreachable, timeout, an error
 * answer, bad PromQL) as one `PrometheusQueryError` whose message says what went wrong, so a
 * check can hold with "no data from Prometheus: …" instead of guessing.
 */

/** A query that could not be answered; the message is fit for a verdict. */
export class PrometheusQueryError extends Error {
  override readonly name = 'PrometheusQueryError';
}

/** One series: its labels and its finite values by timestamp (ms). */
export interface QuerySeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly values: ReadonlyMap<number, number>;
}

interface Answer {
  status?: string;
  error?: string;
  data?: {
    resultType?: string;
    result?: Array<{ metric?: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> }>;
  };
}

async function get(base: string, path: string, params: Record<string, string>, timeoutMs: number): Promise<Answer['data']> {
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  url.search = new URLSearchParams(params).toString();
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (err as Error).name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : (cause?.code ?? cause?.message ?? (err as Error).message);
    throw new PrometheusQueryError(`${url.origin} unreachable (${why})`, { cause: err });
  }
  let body: Answer;
  try {
    body = (await res.json()) as Answer;
  } catch (err) {
    throw new PrometheusQueryError(`${url.origin} answered ${res.status} without a JSON body`, { cause: err });
  }
  if (!res.ok || body.status !== 'success')
    throw new PrometheusQueryError(`${url.origin} answered ${res.status}: ${body.error ?? 'no error text'}`);
  return body.data;
}

const finite = (pairs: ReadonlyArray<[number, string]>): Map<number, number> =>
  new Map(pairs.map(([t, v]) => [Math.round(t * 1000), Number(v)] as const).filter(([, v]) => Number.isFinite(v)));

/**
 * Evaluates `query` at `fromMs`, `fromMs + stepMs`, … up to `toMs` (Prometheus range query).
 * @throws PrometheusQueryError when Prometheus cannot be reached or refuses the query.
 */
export async function queryRange(
  base: string,
  query: string,
  fromMs: number,
  toMs: number,
  stepMs: number,
  timeoutMs = 5000,
): Promise<QuerySeries[]> {
  const data = await get(
    base,
    'api/v1/query_range',
    { query, start: `${fromMs / 1000}`, end: `${toMs / 1000}`, step: `${stepMs / 1000}` },
    timeoutMs,
  );
  return (data?.result ?? []).map((r) => ({ labels: r.metric ?? {}, values: finite(r.values ?? []) }));
}

/**
 * Evaluates `query` at `atMs` (Prometheus instant query); scalars come back as one series.
 * @throws PrometheusQueryError when Prometheus cannot be reached or refuses the query.
 */
export async function queryInstant(base: string, query: string, atMs: number, timeoutMs = 5000): Promise<QuerySeries[]> {
  const data = await get(base, 'api/v1/query', { query, time: `${atMs / 1000}` }, timeoutMs);
  if (data?.resultType === 'scalar') {
    const v = (data.result as unknown as [number, string] | undefined) ?? undefined;
    return v ? [{ labels: {}, values: finite([v]) }] : [];
  }
  return (data?.result ?? []).map((r) => ({ labels: r.metric ?? {}, values: finite(r.value ? [r.value] : []) }));
}
