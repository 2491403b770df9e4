/**
 * A stand-in for the part of Stripe's API that this service uses, as one web-standard
 * `(Request) => Promise<Response>` handler: the Workers tests call it in-process, and
 * `scripts/stripe-double-server.ts` serves it on loopback for local runs and harnesses.
 *
 * It is as strict as Stripe for what we send: it checks the secret key, refuses unknown
 * parameters and the combinations Stripe refuses, knows a small catalogue of prices and tax
 * rates, keeps idempotent results as Stripe does (stripe-double/idempotency.ts), and records
 * every request so tests can assert on exactly what went over the wire. Faults can be queued
 * to make it fail like Stripe can. Its clock can be moved, to rehearse what time does.
 *
 * Plain TypeScript without Node or Workers APIs, so both runtimes can load it.
 */

import { BillingWorld } from "./billing.ts";
import {
  checkReadParameters,
  createCheckoutSession,
  type DoubleCustomer,
  type DoubleSession,
  publicSession,
} from "./checkout-sessions.ts";
import { type Executed, IdempotencyLayer } from "./idempotency.ts";
import {
  type DoubleEvent,
  type Fault,
  json,
  noSuch,
  type Price,
  type RecordedRequest,
  randomId,
  refusalBody,
  StripeRefusal,
} from "./wire.ts";

export type { DoubleSession } from "./checkout-sessions.ts";
export type { DoubleEvent, Fault, Price, RecordedRequest } from "./wire.ts";

export interface StripeDoubleOptions {
  /** Origin of the hosted checkout page URLs it hands out. */
  checkoutOrigin?: string;
  prices?: Record<string, Price>;
  taxRates?: string[];
  /** Answer every request after this many ms (a slow Stripe), before any fault. */
  latencyMs?: number;
  /**
   * Answer every GET after this many ms (default 10): Stripe's reads take time, so the reads of
   * events delivered together overlap, as they do in production. 0 only where a test says so.
   */
  readLatencyMs?: number;
}

const DEFAULT_PRICES: Record<string, Price> = {
  price_eur_once: { currency: "eur", recurring: false, unitAmount: 4900 },
  price_eur_monthly: { currency: "eur", recurring: true, unitAmount: 1900 },
  price_usd_once: { currency: "usd", recurring: false, unitAmount: 4900 },
  price_usd_monthly: { currency: "usd", recurring: true, unitAmount: 1900 },
};

const DEFAULT_TAX_RATES = ["txr_vat_de_19", "txr_reverse_charge_0", "txr_zero"];

function abortable(signal: AbortSignal | undefined, maxMs: number): Promise<never> {
  return new Promise((_, reject) => {
    const timer = setTimeout(
      () => reject(new TypeError("stripe double: hung request released")),
      maxMs,
    );
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason ?? new DOMException("aborted", "AbortError"));
    });
  });
}

const DEFAULT_READ_LATENCY_MS = 10;

/** Stripe's answer when it failed after execution began: saved, and not to be retried as is. */
function savedFailure(status: number): Executed {
  return {
    status,
    payload: {
      error: {
        type: "api_error",
        message: `stripe double: ${status} after execution began (saved under the Idempotency-Key)`,
      },
    },
    headers: { "Stripe-Should-Retry": "false" },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class StripeDouble {
  readonly requests: RecordedRequest[] = [];
  readonly sessions = new Map<string, DoubleSession>();
  readonly customers = new Map<string, DoubleCustomer>();
  readonly prices: Record<string, Price>;
  readonly taxRates: string[];
  readonly checkoutOrigin: string;
  /** Subscriptions, invoices, charges and portal sessions: what paid checkouts leave. */
  readonly billing: BillingWorld = new BillingWorld(this);
  private readonly faults: Fault[] = [];
  /** Events that API calls caused (an expiry asked for), for whoever delivers them. */
  private readonly emitted: DoubleEvent[] = [];
  private readonly idempotency = new IdempotencyLayer(() => this.nowMs());
  private latencyMs: number;
  private readLatencyMs: number;
  private readonly initialReadLatencyMs: number;
  private clockOffsetMs = 0;

  constructor(options: StripeDoubleOptions = {}) {
    this.checkoutOrigin = options.checkoutOrigin ?? "https://checkout.stripe.test";
    this.prices = { ...(options.prices ?? DEFAULT_PRICES) };
    this.taxRates = [...(options.taxRates ?? DEFAULT_TAX_RATES)];
    this.latencyMs = options.latencyMs ?? 0;
    this.readLatencyMs = options.readLatencyMs ?? DEFAULT_READ_LATENCY_MS;
    this.initialReadLatencyMs = this.readLatencyMs;
  }

  /** The double's clock, in ms: the real one, moved by `advanceClock`. */
  nowMs(): number {
    return Date.now() + this.clockOffsetMs;
  }

  nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  /** Moves the double's clock (not the caller's) forward, e.g. past an idempotency key's 24 h. */
  advanceClock(ms: number): void {
    this.clockOffsetMs += ms;
  }

  /** How long every API answer waits (a slow Stripe); the bench changes it between phases. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** How long every GET waits, on top of `latencyMs`. */
  setReadLatency(ms: number): void {
    this.readLatencyMs = ms;
  }

  /** Queue faults: each request to the API takes the next one, until they run out. */
  fail(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  /** The faults still queued, and a way to drop them all. */
  queuedFaults(): readonly Fault[] {
    return this.faults;
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /**
   * The events API calls caused since the last take (Stripe sends them after answering): the
   * loopback server delivers them; a test takes them to deliver them when it wants.
   */
  takeEmittedEvents(): DoubleEvent[] {
    return this.emitted.splice(0);
  }

  reset(): void {
    this.requests.length = 0;
    this.faults.length = 0;
    this.emitted.length = 0;
    this.sessions.clear();
    this.customers.clear();
    this.idempotency.clear();
    this.billing.clear();
    this.clockOffsetMs = 0;
    this.readLatencyMs = this.initialReadLatencyMs;
  }

  /** Adds a customer, as if an earlier checkout had created one. */
  addCustomer(livemode: boolean, account: string | null = null): string {
    const id = randomId("cus_");
    this.customers.set(id, { id, livemode, account, tax_exempt: "none", deleted: false });
    return id;
  }

  /**
   * Saves the customer portal's settings for a mode and account (null: the platform's own), as
   * its operator does in Stripe's Dashboard; until then Stripe opens no portal session there.
   */
  savePortalConfiguration(livemode: boolean, account: string | null = null): string {
    return this.billing.portal.saveConfiguration(livemode, account);
  }

  /** Deletes a customer, as its owner could in Stripe's dashboard: it exists no more. */
  deleteCustomer(id: string): void {
    const customer = this.customers.get(id);
    if (customer) customer.deleted = true;
  }

  creates(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === "POST" && r.path === "/v1/checkout/sessions");
  }

  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const form = Object.fromEntries(
      new URLSearchParams(
        request.method === "GET"
          ? url.search
          : new TextDecoder().decode(await request.arrayBuffer()),
      ),
    );
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    this.requests.push({ method: request.method, path: url.pathname, headers, form });

    const latency = this.latencyMs + (request.method === "GET" ? this.readLatencyMs : 0);
    if (latency > 0) await sleep(latency);
    const fault = this.faults.shift();
    const afterExecution =
      fault && (fault.kind === "status" || fault.kind === "timeout") && fault.afterCreate;
    if (fault && fault.kind !== "delay" && fault.kind !== "saved" && !afterExecution) {
      return this.strike(fault, request.signal);
    }
    const lateAnswer = fault?.kind === "delay" && fault.afterCreate ? fault.ms : 0;
    const delayMs = fault?.kind === "delay" && !lateAnswer ? fault.ms : 0;
    const failure = fault?.kind === "saved" ? savedFailure(fault.status ?? 500) : null;
    const response = await this.route(request.method, url.pathname, headers, form, {
      delayMs,
      failure,
    });
    // A read (nothing saved for it) fails the same way, after it executed.
    if (failure && response.ok) return json(failure.status, failure.payload, failure.headers);
    if (fault && afterExecution) return this.strike(fault, request.signal);
    if (lateAnswer > 0) await sleep(lateAnswer);
    return response;
  }

  private strike(
    fault: Exclude<Fault, { kind: "delay" | "saved" }>,
    signal: AbortSignal | undefined,
  ) {
    switch (fault.kind) {
      case "timeout":
        return abortable(signal, 30_000);
      case "network":
        throw new TypeError("Network connection lost.");
      case "garbage":
        return new Response("<html>502 Bad Gateway</html>", {
          status: 200,
          headers: { "Content-Type": "text/html" },
        });
      case "status":
        return json(
          fault.status,
          {
            error: {
              type: fault.type ?? (fault.status === 429 ? "rate_limit_error" : "api_error"),
              message: `stripe double: injected ${fault.status}`,
            },
          },
          fault.shouldRetry === undefined
            ? {}
            : { "Stripe-Should-Retry": String(fault.shouldRetry) },
        );
    }
  }

  private async route(
    method: string,
    path: string,
    headers: Record<string, string>,
    form: Record<string, string>,
    execution: { delayMs: number; failure: Executed | null },
  ): Promise<Response> {
    const key = /^Bearer ((sk|rk)_(test|live)_\w+)$/.exec(headers.authorization ?? "");
    if (!key) {
      return json(401, {
        error: { type: "invalid_request_error", message: "Invalid API Key provided" },
      });
    }
    const livemode = key[3] === "live";
    const account = headers["stripe-account"] ?? null;
    const executing = async (work: () => unknown): Promise<Executed> => {
      if (execution.delayMs > 0) await sleep(execution.delayMs);
      const payload = work();
      return execution.failure ?? { status: 200, payload };
    };
    const idempotently = (work: () => Record<string, unknown>) =>
      this.idempotency.run(
        `${livemode}|${account ?? ""}`,
        headers["idempotency-key"],
        `${method} ${path}`,
        form,
        () => executing(work),
      );
    try {
      if (method === "POST" && path === "/v1/checkout/sessions") {
        return await idempotently(() => {
          const session = createCheckoutSession(this, form, livemode, account, this.nowSeconds());
          this.sessions.set(session.id, session);
          return publicSession(session);
        });
      }
      const session = /^\/v1\/checkout\/sessions\/([^/]+)(\/expire)?$/.exec(path);
      if (session?.[1]) {
        if (method === "GET") checkReadParameters(form);
        const found = this.sessions.get(session[1]);
        if (!found || found.livemode !== livemode || found.account !== account) {
          throw noSuch("checkout.session", session[1], "id", 404);
        }
        if (method === "GET" && !session[2]) return json(200, publicSession(found));
        if (method === "POST" && session[2]) {
          return await idempotently(() => {
            if (found.status !== "open") {
              throw new StripeRefusal(
                400,
                'Only Checkout Sessions with a status in ["open"] can be expired.',
                { saved: true },
              );
            }
            found.status = "expired";
            found.url = null;
            this.emitted.push(this.event("checkout.session.expired", found, publicSession(found)));
            return publicSession(found);
          });
        }
      }
      if (method === "GET") {
        const object = this.billing.route(method, path, form, livemode, account);
        if (object) return json(200, object);
      }
      if (method === "POST" && path === "/v1/billing_portal/sessions") {
        return await idempotently(
          () => this.billing.route(method, path, form, livemode, account) ?? {},
        );
      }
      const customer = /^\/v1\/customers\/([^/]+)$/.exec(path);
      if (method === "GET" && customer?.[1])
        return json(200, this.readCustomer(customer[1], livemode, account));
      if (method === "POST" && customer?.[1]) {
        const id = customer[1];
        return await idempotently(() => this.updateCustomer(id, form, livemode, account));
      }
      throw new StripeRefusal(404, `Unrecognized request URL (${method}: ${path}).`);
    } catch (err) {
      if (err instanceof StripeRefusal) return json(err.status, refusalBody(err));
      throw err;
    }
  }

  /**
   * GET /v1/customers/:id: a deleted customer is still answered, as `{ id, object, deleted:
   * true }` (docs.stripe.com/api/customers/retrieve), not 404; another mode's or account's is.
   */
  private readCustomer(id: string, livemode: boolean, account: string | null) {
    const customer = this.customers.get(id);
    if (!customer || customer.livemode !== livemode || customer.account !== account) {
      throw noSuch("customer", id, "id", 404);
    }
    if (customer.deleted) return { id, object: "customer", deleted: true };
    const { deleted: _deleted, ...shown } = customer;
    return { object: "customer", ...shown };
  }

  private updateCustomer(
    id: string,
    form: Record<string, string>,
    livemode: boolean,
    account: string | null,
  ): Record<string, unknown> {
    for (const name of Object.keys(form)) {
      if (name !== "tax_exempt") {
        throw new StripeRefusal(400, `Received unknown parameter: ${name}`, { param: name });
      }
    }
    const customer = this.customers.get(id);
    if (
      !customer ||
      customer.deleted ||
      customer.livemode !== livemode ||
      customer.account !== account
    ) {
      throw noSuch("customer", id, "id", 404);
    }
    if (form.tax_exempt) customer.tax_exempt = form.tax_exempt;
    const { deleted: _deleted, ...shown } = customer;
    return { object: "customer", ...shown };
  }

  /**
   * Completes a session as a person paying would, and returns the events Stripe would send:
   * `checkout.session.completed`, and for SEPA Debit (a delayed method) the later
   * `checkout.session.async_payment_succeeded`.
   */
  completeSession(id: string): DoubleEvent[] {
    const session = this.sessions.get(id);
    if (session?.status !== "open") throw new Error(`stripe double: session ${id} is not open`);
    const createsCustomer =
      session.mode === "subscription" ||
      session.form.customer_creation === "always" ||
      session.mode === "setup";
    if (!session.customer && createsCustomer) {
      session.customer = this.addCustomer(session.livemode, session.account);
    }
    const delayed =
      session.form["allowed_payment_method_types[0]"] === "sepa_debit" && session.mode !== "setup";
    session.status = "complete";
    session.url = null;
    session.payment_status =
      session.mode === "setup" ? "no_payment_required" : delayed ? "unpaid" : "paid";
    session.payment_intent = session.mode === "payment" ? randomId("pi_") : null;
    session.subscription = session.mode === "subscription" ? randomId("sub_") : null;
    session.setup_intent = session.mode === "setup" ? randomId("seti_") : null;
    // A subscription's own events come before the session's; a one-time payment's invoice after.
    const before = session.mode === "subscription" ? this.billing.startSubscription(session) : [];
    const events = [
      ...before,
      this.event("checkout.session.completed", session, publicSession(session)),
    ];
    if (delayed) {
      session.payment_status = "paid";
      events.push(
        this.event("checkout.session.async_payment_succeeded", session, publicSession(session)),
      );
    }
    if (session.mode === "payment") events.push(...this.billing.chargePayment(session));
    return events;
  }

  /** Expires an open session as Stripe does at `expires_at`, and returns the event. */
  expireSession(id: string): DoubleEvent {
    const session = this.sessions.get(id);
    if (session?.status !== "open") throw new Error(`stripe double: session ${id} is not open`);
    session.status = "expired";
    session.url = null;
    return this.event("checkout.session.expired", session, publicSession(session));
  }

  event(
    type: string,
    owner: { livemode: boolean; account: string | null },
    object: Record<string, unknown>,
  ): DoubleEvent {
    return {
      id: randomId("evt_"),
      object: "event",
      api_version: "2026-10-28.endive",
      type,
      livemode: owner.livemode,
      created: this.nowSeconds(),
      ...(owner.account ? { account: owner.account } : {}),
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      data: { object },
    };
  }

  publicSession(session: DoubleSession): Record<string, unknown> {
    return publicSession(session);
  }
}
