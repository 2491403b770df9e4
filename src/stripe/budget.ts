import { isStripeOutage } from "./errors.ts";

/**
 * How much Stripe work a run of the cron (or of the operator's CLI) may still do. Every step
 * asks before each call and reports each failed call, so Stripe failing ends the Stripe work of
 * all the run's steps, not only the step that met it.
 */
export interface StripeBudget {
  /** Whether another Stripe call may start now: time is left and Stripe has not failed. */
  mayCall(): boolean;
  /** A call failed: true when it was an outage (isStripeOutage), which ends the run's calls. */
  failed(err: unknown): boolean;
}

/** What stopped a run's Stripe work, if anything. */
export type StopReason = "time budget spent" | "Stripe failing";

export class RunBudget implements StripeBudget {
  readonly deadlineMs: number;
  private readonly nowMs: () => number;
  private stripeDown = false;

  constructor(nowMs: () => number, budgetMs: number) {
    this.nowMs = nowMs;
    this.deadlineMs = nowMs() + budgetMs;
  }

  /** Whether the run's time is not spent yet (for any step, with or without Stripe). */
  timeLeft(): boolean {
    return this.nowMs() < this.deadlineMs;
  }

  mayCall(): boolean {
    return !this.stripeDown && this.timeLeft();
  }

  failed(err: unknown): boolean {
    if (isStripeOutage(err)) this.stripeDown = true;
    return this.stripeDown;
  }

  /** Why no further Stripe call may start, or null while one may. */
  stopped(): StopReason | null {
    if (this.stripeDown) return "Stripe failing";
    return this.timeLeft() ? null : "time budget spent";
  }
}

/**
 * The longest a Stripe call that starts just before a deadline can take: each of the SDK's
 * attempts its timeout, and up to 5 s of backoff between them (the SDK's
 * MAX_NETWORK_RETRY_DELAY_SEC). A lease held until the deadline plus this (twice, for the
 * reconciliation's pair of reads) outlives any call the run may have started.
 */
export function longestStripeCallMs(config: {
  STRIPE_TIMEOUT_MS: number;
  STRIPE_MAX_NETWORK_RETRIES: number;
}): number {
  const attempts = config.STRIPE_MAX_NETWORK_RETRIES + 1;
  return config.STRIPE_TIMEOUT_MS * attempts + 5_000 * (attempts - 1);
}
