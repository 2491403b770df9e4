/** What the double's parts share: the shapes on the wire, Stripe's error answers, ids. */

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  form: Record<string, string>;
}

/**
 * A fault the next API request meets. `status`, `network`, `garbage` and `timeout` strike before
 * Stripe executes anything (so no idempotent result is saved); with `afterCreate`, the request
 * is executed (and its result saved) and only the answer is lost. `delay` holds the request
 * while it executes, so a concurrent request with the same key meets it in flight; with
 * `afterCreate`, the request is executed at once and only its answer is late (a read that
 * reports the state of its arrival, answered after later changes). `saved` is Stripe failing
 * after execution began: the request is executed (whatever it made exists), Stripe answers a
 * 5xx with `Stripe-Should-Retry: false`, and saves that answer under the Idempotency-Key, so
 * every retry with the key gets the same 5xx for 24 hours (docs.stripe.com/api/idempotent_requests).
 */
export type Fault =
  | { kind: "status"; status: number; afterCreate?: boolean; type?: string; shouldRetry?: boolean }
  | { kind: "saved"; status?: number }
  | { kind: "timeout"; afterCreate?: boolean }
  | { kind: "network" }
  | { kind: "garbage" }
  | { kind: "delay"; ms: number; afterCreate?: boolean };

export interface Price {
  currency: string;
  recurring: boolean;
  /** In the currency's smallest unit. */
  unitAmount?: number;
}

/** A Stripe event as the double emits it; the caller signs and delivers it. */
export interface DoubleEvent {
  id: string;
  object: "event";
  api_version: string;
  type: string;
  livemode: boolean;
  created: number;
  account?: string;
  pending_webhooks: number;
  request: { id: null; idempotency_key: null };
  data: { object: Record<string, unknown> };
}

/**
 * The signing secrets of a platform's Stripe webhook endpoints, by endpoint: per mode, the
 * account endpoint (the platform's own events) and the Connect endpoint (events of connected
 * accounts), each with its own secret (docs/stripe-double.md, "Signing secrets").
 */
export interface EndpointSecrets {
  test: string;
  live: string;
  connectTest: string;
  connectLive: string;
}

/**
 * The endpoint Stripe sends an event to, hence the secret that signs it: the event's mode's
 * Connect endpoint when it carries `account`, else the mode's account endpoint.
 */
export function endpointOf(event: unknown): keyof EndpointSecrets {
  const { livemode, account } = (event ?? {}) as { livemode?: unknown; account?: unknown };
  const live = livemode === true;
  if (typeof account === "string" && account !== "") return live ? "connectLive" : "connectTest";
  return live ? "live" : "test";
}

/**
 * Every endpoint Stripe sends an event to: `endpointOf`'s, and for a connected account's test
 * event the live Connect endpoint as well (Stripe sends test events of accounts connected in
 * live mode there too: support.stripe.com/questions/connect-account-webhook-configurations).
 */
export function endpointsOf(event: unknown): (keyof EndpointSecrets)[] {
  const endpoint = endpointOf(event);
  return endpoint === "connectTest" ? ["connectTest", "connectLive"] : [endpoint];
}

/**
 * Stripe refusing a request. `saved` says whether Stripe had begun executing it (a lookup that
 * found nothing, a price of the wrong kind): then its result is kept under the Idempotency-Key
 * like a success. Refusals of the parameters themselves (unknown, malformed, contradictory)
 * happen before execution and are not kept.
 */
export class StripeRefusal extends Error {
  readonly status: number;
  readonly param: string | undefined;
  readonly type: string;
  readonly code: string | undefined;
  readonly saved: boolean;

  constructor(
    status: number,
    message: string,
    options: { param?: string; type?: string; code?: string; saved?: boolean } = {},
  ) {
    super(message);
    this.status = status;
    this.param = options.param;
    this.type = options.type ?? "invalid_request_error";
    this.code = options.code;
    this.saved = options.saved ?? false;
  }
}

/** Stripe's answer to a lookup that found nothing; executed, so it is kept under its key. */
export function noSuch(kind: string, id: string, param: string, status = 400): StripeRefusal {
  return new StripeRefusal(status, `No such ${kind}: '${id}'`, {
    param,
    code: "resource_missing",
    saved: true,
  });
}

/** Whether an object is of this mode and account: Stripe shows nobody else's objects. */
export const owns = (
  object: { livemode: boolean; account: string | null },
  livemode: boolean,
  account: string | null,
) => object.livemode === livemode && object.account === account;

const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

export function randomId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return prefix + Array.from(bytes, (b) => ID_ALPHABET[b % 62]).join("");
}

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "Request-Id": randomId("req_"), ...headers },
  });
}

export function refusalBody(err: StripeRefusal): Record<string, unknown> {
  return {
    error: {
      type: err.type,
      message: err.message,
      ...(err.param ? { param: err.param } : {}),
      ...(err.code ? { code: err.code } : {}),
    },
  };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function hostedHtml(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title></head><body style="font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;font-size:1.1rem"><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

/** The form fields whose names match, as `{ suffix: value }` (e.g. `metadata[…]`). */
export function formGroup(form: Record<string, string>, prefix: string): Record<string, string> {
  const group: Record<string, string> = {};
  for (const [name, value] of Object.entries(form)) {
    if (
      name.startsWith(`${prefix}[`) &&
      name.endsWith("]") &&
      !name.slice(prefix.length + 1, -1).includes("[")
    ) {
      group[name.slice(prefix.length + 1, -1)] = value;
    }
  }
  return group;
}
