import {
  type FollowUpOutcome,
  findDueTaxExemptFollowUps,
  findPendingTaxExemptFollowUp,
  recordTaxExemptAttempt,
  type TaxExemptFollowUp,
} from "../db/follow-ups.ts";
import { ApiError } from "../errors.ts";
import type { StripeBudget } from "../stripe/budget.ts";
import type { StripeGateway } from "../stripe/client.ts";
import { toStripeApiError, UPDATE_CUSTOMER_TAX_EXEMPT } from "../stripe/errors.ts";
import { idempotencyKey } from "../stripe/idempotency.ts";

/**
 * Sets the customer's tax treatment to what the follow-up found, under a key of its checkout,
 * its try and that value: a failure Stripe saved under one checkout's key never blocks
 * another's, and the next try of the same checkout is not met with a 5xx Stripe saved for the
 * last one (setting a value is idempotent at Stripe; within one try the SDK's retries share it).
 */
async function updateCustomerTaxExempt(
  stripe: StripeGateway,
  followUp: TaxExemptFollowUp,
): Promise<void> {
  const params = { tax_exempt: followUp.taxExempt };
  await stripe.updateCustomerTaxExempt(followUp.customerId, followUp.taxExempt, {
    idempotencyKey: await idempotencyKey(
      "customer",
      followUp.checkoutId,
      followUp.attempts,
      followUp.customerId,
      followUp.livemode,
      followUp.stripeAccount,
      params,
    ),
    stripeAccount: followUp.stripeAccount,
  });
}

export interface FollowUpDeps {
  db: D1Database;
  stripeFor: (livemode: boolean) => StripeGateway;
  now: () => number;
}

/** Seconds to wait before the next try, by the number of tries made: about two days in all. */
const RETRY_DELAYS_SECONDS = [60, 300, 900, 3_600, 10_800, 21_600, 43_200, 86_400];

/**
 * One try at the follow-up. Stripe refusing it (the customer is gone, the account no longer
 * ours) fails it for good; anything that may pass (Stripe down, a secret missing) is tried again
 * later, until the tries run out. Either way the outcome is on the checkout's record and in the
 * log; the completion itself was recorded before and never depends on it.
 */
async function attemptFollowUp(
  deps: FollowUpDeps,
  followUp: TaxExemptFollowUp,
  budget?: StripeBudget,
): Promise<FollowUpOutcome> {
  const now = deps.now();
  let outcome: FollowUpOutcome;
  try {
    await updateCustomerTaxExempt(deps.stripeFor(followUp.livemode), followUp);
    outcome = { status: "applied", error: null, nextAt: null };
  } catch (err) {
    budget?.failed(err);
    // A secret missing is ours to name; anything else came from the Stripe call.
    const error =
      err instanceof ApiError
        ? err
        : toStripeApiError(err, followUp.livemode, UPDATE_CUSTOMER_TAX_EXEMPT[followUp.taxExempt]);
    const delay = RETRY_DELAYS_SECONDS[followUp.attempts];
    outcome =
      error.code === "bad_request" || delay === undefined
        ? { status: "failed", error: error.message, nextAt: null }
        : { status: "pending", error: error.message, nextAt: now + delay };
  }
  await recordTaxExemptAttempt(deps.db, followUp.checkoutId, outcome, now);
  const line = {
    followUp: `customer_tax_exempt_${followUp.taxExempt}`,
    checkoutId: followUp.checkoutId,
    status: outcome.status,
    attempt: followUp.attempts + 1,
    ...(outcome.error ? { error: outcome.error } : {}),
  };
  if (outcome.status === "applied") console.info(JSON.stringify(line));
  else console.error(JSON.stringify(line));
  return outcome;
}

/** Runs the follow-up of one checkout now, if it is pending (after its completion was recorded). */
export async function runTaxExemptFollowUp(deps: FollowUpDeps, checkoutId: string): Promise<void> {
  const followUp = await findPendingTaxExemptFollowUp(deps.db, checkoutId);
  if (followUp) await attemptFollowUp(deps, followUp);
}

/**
 * The cron's part: the follow-ups whose time has come, at most `limit`, while the run's budget
 * allows (Stripe failing, here or in another step, leaves the rest for the next run). Returns
 * how many ran and how many were left.
 */
export async function runDueTaxExemptFollowUps(
  deps: FollowUpDeps,
  limit: number,
  budget: StripeBudget,
): Promise<{ ran: number; left: number }> {
  const due = await findDueTaxExemptFollowUps(deps.db, deps.now(), limit);
  let ran = 0;
  for (const followUp of due) {
    if (!budget.mayCall()) break;
    await attemptFollowUp(deps, followUp, budget);
    ran++;
  }
  return { ran, left: due.length - ran };
}
