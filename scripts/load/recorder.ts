import { BillingLedger } from "./billing-ledger.ts";
import { Histogram } from "./histogram.ts";
import { KINDS, type Kind } from "./kinds.ts";

/** What the clients were sent and told, for the table and for reconciliation. */

const MAX_EXAMPLES = 8;

interface KindStats {
  count: number;
  statuses: Map<string, number>;
  latency: Histogram;
  /** Statuses outside what this kind may answer (any 5xx, network errors, timeouts). */
  unexpected: number;
  /** Expected status, wrong content (another id, another redirect target, a stale status). */
  wrong: number;
}

/** A checkout some create answered 200 for: what reconciliation and later requests need. */
export interface Created {
  id: string;
  hash: string;
  url: string;
  state: string;
  path: string;
  body: Record<string, unknown>;
  /** open: never paid; paying: a completion is on its way; paid: the double answered 303. */
  phase: "open" | "paying" | "paid";
}

export class Recorder {
  readonly stats = new Map<Kind, KindStats>(
    KINDS.map((kind) => [
      kind,
      { count: 0, statuses: new Map(), latency: new Histogram(), unexpected: 0, wrong: 0 },
    ]),
  );
  readonly created: Created[] = [];
  readonly examples: string[] = [];
  total = 0;
  /** Repeats and twins that got 200 with another id or hash than the original. */
  repeatMismatches = 0;
  repeatsCompared = 0;
  conflictsSent = 0;
  conflicts409 = 0;
  /** With --rate-limits: conflicts answered 429 before their state was looked at. */
  conflictsRateLimited = 0;
  /** Completions the double answered 303 for: the sessions that must end `complete`. */
  readonly completed: Created[] = [];
  /** Completions whose outcome is unknown (network error, timeout): the double may have paid. */
  completionsUnknown = 0;
  /** What the billing moves did to the paid checkouts. */
  readonly billing = new BillingLedger();

  note(example: string): void {
    if (this.examples.length < MAX_EXAMPLES) this.examples.push(example);
  }

  record(kind: Kind, status: string, ms: number, expected: boolean, right = true): void {
    const stats = this.stats.get(kind);
    if (!stats) return;
    this.total++;
    stats.count++;
    stats.statuses.set(status, (stats.statuses.get(status) ?? 0) + 1);
    stats.latency.add(ms);
    if (!expected || status.startsWith("5")) stats.unexpected++;
    else if (!right) stats.wrong++;
  }
}
