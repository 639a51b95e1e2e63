/** The alert shape Alertmanager's v2 API takes, shared by alertmanager.ts and health-alerts.ts. */

/** One alert as Alertmanager's v2 API takes it (postableAlert). */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt?: string;
  readonly generatorURL: string;
}
