import { cancelAtPeriodEnd, cardUpdate, refund, renewFailed, renewPaid } from "./billing-moves.ts";
import type { LoadClient } from "./client.ts";
import { badRequest, conflict, create, createTwin, repeat } from "./creates.ts";
import { complete } from "./payments.ts";
import { page, pageWrongState, read } from "./reads.ts";

/**
 * The mix of the load: each kind of request, how often it is sent, and what sends it. A new
 * part of the load gets its own module of senders; here only its kinds, weights and cases.
 */

export const KINDS = [
  "create",
  "create-twin",
  "repeat",
  "conflict",
  "read",
  "page",
  "page-wrong-state",
  "complete",
  "bad-request",
  "renew-paid",
  "renew-failed",
  "card-update",
  "cancel-at-period-end",
  "refund",
] as const;
export type Kind = (typeof KINDS)[number];

/**
 * Relative weights: 45 creates (40 single, 5 as simultaneous twins), then the brief's mix, then
 * 10 billing moves on paid checkouts (each sends its Stripe events to the worker all at once).
 */
const WEIGHTS: Record<Kind, number> = {
  create: 40,
  "create-twin": 5,
  repeat: 15,
  conflict: 5,
  read: 15,
  page: 8,
  "page-wrong-state": 2,
  complete: 10,
  "bad-request": 2,
  "renew-paid": 3,
  "renew-failed": 2,
  "card-update": 2,
  "cancel-at-period-end": 1,
  refund: 2,
};
const TOTAL_WEIGHT = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);

/** Sends one request of a kind drawn by weight. */
export async function sendNext(client: LoadClient): Promise<void> {
  let roll = Math.random() * TOTAL_WEIGHT;
  let kind: Kind = "create";
  for (const k of KINDS) {
    roll -= WEIGHTS[k];
    if (roll < 0) {
      kind = k;
      break;
    }
  }
  switch (kind) {
    case "create":
      return create(client);
    case "create-twin":
      return createTwin(client);
    case "repeat":
      return repeat(client);
    case "conflict":
      return conflict(client);
    case "read":
      return read(client);
    case "page":
      return page(client);
    case "page-wrong-state":
      return pageWrongState(client);
    case "complete":
      return complete(client);
    case "bad-request":
      return badRequest(client);
    case "renew-paid":
      return renewPaid(client);
    case "renew-failed":
      return renewFailed(client);
    case "card-update":
      return cardUpdate(client);
    case "cancel-at-period-end":
      return cancelAtPeriodEnd(client);
    case "refund":
      return refund(client);
  }
}
