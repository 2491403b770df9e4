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
}
