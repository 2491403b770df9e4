/**
 * A stand-in for the part of Stripe's API that this service uses, as one web-standard
 * `(Request) => Promise<Response>` handler: the Workers tests call it in-process, and
 * `scripts/stripe-double-server.ts` serves it on loopback for local runs and harnesses.
 *
 * It behaves the way Stripe does for what we send: it checks the secret key, refuses unknown
 * parameters and parameter combinations Stripe refuses, knows a small catalogue of prices and
 * tax rates, replays idempotent requests, and records every request so tests can assert on
 * exactly what went over the wire. Faults can be queued to make it fail like Stripe can.
 *
 * Plain TypeScript without Node or Workers APIs, so both runtimes can load it.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  form: Record<string, string>;
}

export type Fault =
  | { kind: "status"; status: number; afterCreate?: boolean; type?: string; shouldRetry?: boolean }
  | { kind: "timeout"; afterCreate?: boolean }
  | { kind: "network" }
  | { kind: "garbage" }
  | { kind: "delay"; ms: number };

export interface Price {
  currency: string;
  recurring: boolean;
}

export interface StripeDoubleOptions {
  /** Origin of the hosted checkout page URLs it hands out. */
  checkoutOrigin?: string;
  prices?: Record<string, Price>;
  taxRates?: string[];
  /** Answer every request after this many ms (a slow Stripe), before any fault. */
  latencyMs?: number;
}

export interface DoubleSession {
  id: string;
  object: "checkout.session";
  livemode: boolean;
  account: string | null;
  mode: string;
  status: "open" | "complete" | "expired";
  payment_status: string;
  url: string | null;
  customer: string | null;
  client_reference_id: string | null;
  metadata: Record<string, string>;
  expires_at: number;
  created: number;
  success_url: string;
  cancel_url: string;
  form: Record<string, string>;
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

export interface HostedResult {
  response: Response;
  /** Events the hosted page caused, in the order Stripe would send them. */
  events: DoubleEvent[];
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function hostedHtml(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title></head><body style="font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;font-size:1.1rem"><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

export const DEFAULT_PRICES: Record<string, Price> = {
  price_eur_once: { currency: "eur", recurring: false },
  price_eur_monthly: { currency: "eur", recurring: true },
  price_usd_once: { currency: "usd", recurring: false },
  price_usd_monthly: { currency: "usd", recurring: true },
};

export const DEFAULT_TAX_RATES = ["txr_vat_de_19", "txr_reverse_charge_0", "txr_zero"];

/** The parameters of POST /v1/checkout/sessions we send; anything else is refused as Stripe does. */
const KNOWN_SESSION_PARAMS = [
  /^mode$/,
  /^success_url$/,
  /^cancel_url$/,
  /^allowed_payment_method_types\[\d+\]$/,
  /^billing_address_collection$/,
  /^expires_at$/,
  /^client_reference_id$/,
  /^customer$/,
  /^customer_creation$/,
  /^customer_update\[(name|address|shipping)\]$/,
  /^metadata\[[^\]]+\]$/,
  /^line_items\[0\]\[(price|quantity)\]$/,
  /^line_items\[0\]\[tax_rates\]\[\d+\]$/,
  /^shipping_address_collection\[allowed_countries\]\[\d+\]$/,
  /^payment_intent_data\[metadata\]\[[^\]]+\]$/,
  /^subscription_data\[metadata\]\[[^\]]+\]$/,
  /^subscription_data\[invoice_settings\]\[footer\]$/,
  /^setup_intent_data\[metadata\]\[[^\]]+\]$/,
  /^invoice_creation\[enabled\]$/,
  /^invoice_creation\[invoice_data\]\[(footer)\]$/,
  /^invoice_creation\[invoice_data\]\[metadata\]\[[^\]]+\]$/,
  /^tax_id_collection\[(enabled|required)\]$/,
];

const PAYMENT_METHOD_TYPES = new Set([
  "card",
  "sepa_debit",
  "paypal",
  "klarna",
  "ideal",
  "bancontact",
  "eps",
  "p24",
]);

class StripeRefusal extends Error {
  readonly status: number;
  readonly param: string | undefined;
  readonly type: string;
  readonly code: string | undefined;

  constructor(
    status: number,
    message: string,
    param?: string,
    type = "invalid_request_error",
    code?: string,
  ) {
    super(message);
    this.status = status;
    this.param = param;
    this.type = type;
    this.code = code;
  }
}

function randomId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return (
    prefix +
    Array.from(
      bytes,
      (b) => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[b % 62],
    ).join("")
  );
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "Request-Id": randomId("req_"), ...headers },
  });
}

function refusalResponse(err: StripeRefusal): Response {
  return json(err.status, {
    error: {
      type: err.type,
      message: err.message,
      ...(err.param ? { param: err.param } : {}),
      ...(err.code ? { code: err.code } : {}),
    },
  });
}

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

export class StripeDouble {
  readonly requests: RecordedRequest[] = [];
  readonly sessions = new Map<string, DoubleSession>();
  readonly customers = new Map<
    string,
    { id: string; livemode: boolean; account: string | null; tax_exempt: string }
  >();
  private readonly faults: Fault[] = [];
  private readonly idempotent = new Map<
    string,
    { body: string; status: number; payload: unknown }
  >();
  private readonly options: Required<StripeDoubleOptions>;

  constructor(options: StripeDoubleOptions = {}) {
    this.options = {
      checkoutOrigin: options.checkoutOrigin ?? "https://checkout.stripe.test",
      prices: options.prices ?? DEFAULT_PRICES,
      taxRates: options.taxRates ?? DEFAULT_TAX_RATES,
      latencyMs: options.latencyMs ?? 0,
    };
  }

  /** How long every API answer waits (a slow Stripe); the bench changes it between phases. */
  setLatency(ms: number): void {
    this.options.latencyMs = ms;
  }

  /** Queue faults: each request to the API takes the next one, until they run out. */
  fail(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  reset(): void {
    this.requests.length = 0;
    this.faults.length = 0;
    this.sessions.clear();
    this.customers.clear();
    this.idempotent.clear();
  }

  /** Adds a customer, as if an earlier checkout had created one. */
  addCustomer(livemode: boolean, account: string | null = null): string {
    const id = randomId("cus_");
    this.customers.set(id, { id, livemode, account, tax_exempt: "none" });
    return id;
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

    if (this.options.latencyMs > 0) await new Promise((r) => setTimeout(r, this.options.latencyMs));
    const fault = this.faults.shift();
    if (fault && !("afterCreate" in fault && fault.afterCreate)) {
      const early = await this.applyFault(fault, request.signal);
      if (early) return early;
    }

    const response = await this.route(request.method, url.pathname, headers, form);
    if (fault && "afterCreate" in fault && fault.afterCreate) {
      const late = await this.applyFault(fault, request.signal);
      if (late) return late;
    }
    return response;
  }

  private async applyFault(
    fault: Fault,
    signal: AbortSignal | undefined,
  ): Promise<Response | null> {
    switch (fault.kind) {
      case "delay":
        await new Promise((r) => setTimeout(r, fault.ms));
        return null;
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
  ): Promise<Response> {
    const key = /^Bearer ((sk|rk)_(test|live)_\w+)$/.exec(headers.authorization ?? "");
    if (!key) {
      return json(401, {
        error: { type: "invalid_request_error", message: "Invalid API Key provided" },
      });
    }
    const livemode = key[3] === "live";
    const account = headers["stripe-account"] ?? null;
    try {
      if (method === "POST" && path === "/v1/checkout/sessions") {
        return this.idempotently(headers, form, () => this.createSession(form, livemode, account));
      }
      const session = /^\/v1\/checkout\/sessions\/([^/]+)(\/expire)?$/.exec(path);
      if (session?.[1]) {
        const found = this.sessions.get(session[1]);
        if (!found || found.livemode !== livemode || found.account !== account) {
          throw new StripeRefusal(
            404,
            `No such checkout.session: '${session[1]}'`,
            "id",
            "invalid_request_error",
            "resource_missing",
          );
        }
        if (method === "GET" && !session[2]) return json(200, this.publicSession(found));
        if (method === "POST" && session[2]) {
          if (found.status !== "open")
            throw new StripeRefusal(
              400,
              'Only Checkout Sessions with a status in ["open"] can be expired.',
            );
          found.status = "expired";
          found.url = null;
          return json(200, this.publicSession(found));
        }
      }
      const customer = /^\/v1\/customers\/([^/]+)$/.exec(path);
      if (method === "POST" && customer?.[1]) {
        return this.idempotently(headers, form, () =>
          this.updateCustomer(customer[1] ?? "", form, livemode, account),
        );
      }
      throw new StripeRefusal(404, `Unrecognized request URL (${method}: ${path}).`);
    } catch (err) {
      if (err instanceof StripeRefusal) return refusalResponse(err);
      throw err;
    }
  }

  private idempotently(
    headers: Record<string, string>,
    form: Record<string, string>,
    create: () => { status: number; payload: unknown },
  ): Response {
    const key = headers["idempotency-key"];
    const body = JSON.stringify(Object.entries(form).sort());
    if (key) {
      const seen = this.idempotent.get(key);
      if (seen) {
        if (seen.body !== body) {
          throw new StripeRefusal(
            400,
            `Keys for idempotent requests can only be used with the same parameters they were first used with.`,
            undefined,
            "idempotency_error",
          );
        }
        return json(seen.status, seen.payload, { "Idempotent-Replayed": "true" });
      }
    }
    // Like Stripe, a request refused by parameter validation (a throw here) saves no result.
    const result = create();
    if (key) this.idempotent.set(key, { body, ...result });
    return json(result.status, result.payload);
  }

  private createSession(
    form: Record<string, string>,
    livemode: boolean,
    account: string | null,
  ): { status: number; payload: unknown } {
    for (const name of Object.keys(form)) {
      if (!KNOWN_SESSION_PARAMS.some((pattern) => pattern.test(name))) {
        throw new StripeRefusal(
          400,
          `Received unknown parameter: ${name}`,
          name,
          "invalid_request_error",
          "parameter_unknown",
        );
      }
    }
    const mode = form.mode;
    if (!mode || !["payment", "subscription", "setup"].includes(mode)) {
      throw new StripeRefusal(
        400,
        "Invalid mode: must be one of payment, setup, or subscription",
        "mode",
      );
    }
    for (const param of ["success_url", "cancel_url"]) {
      const value = form[param];
      if (!value || !/^https?:\/\//.test(value))
        throw new StripeRefusal(400, `Not a valid URL`, param);
    }
    const now = Math.floor(Date.now() / 1000);
    const expiresAt = form.expires_at ? Number(form.expires_at) : now + 24 * 3600;
    if (
      !Number.isInteger(expiresAt) ||
      expiresAt < now + 30 * 60 - 5 ||
      expiresAt > now + 24 * 3600
    ) {
      throw new StripeRefusal(
        400,
        "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
        "expires_at",
      );
    }
    const methods = Object.entries(form)
      .filter(([k]) => k.startsWith("allowed_payment_method_types["))
      .map(([, v]) => v);
    for (const type of methods) {
      if (type === "sofort")
        throw new StripeRefusal(
          400,
          "The payment method `sofort` is no longer supported.",
          "allowed_payment_method_types",
        );
      if (!PAYMENT_METHOD_TYPES.has(type))
        throw new StripeRefusal(
          400,
          `Invalid payment method type: ${type}`,
          "allowed_payment_method_types",
        );
    }

    const customer = form.customer ?? null;
    if (customer) {
      const known = this.customers.get(customer);
      if (!known || known.livemode !== livemode || known.account !== account) {
        throw new StripeRefusal(
          400,
          `No such customer: '${customer}'`,
          "customer",
          "invalid_request_error",
          "resource_missing",
        );
      }
    } else if (Object.keys(form).some((k) => k.startsWith("customer_update["))) {
      throw new StripeRefusal(
        400,
        "customer_update can only be used with customer.",
        "customer_update",
      );
    }
    if (form.customer_creation && (mode === "subscription" || customer)) {
      throw new StripeRefusal(
        400,
        "customer_creation can only be used in payment and setup mode without customer.",
        "customer_creation",
      );
    }

    if (mode === "setup") {
      if (form["line_items[0][price]"])
        throw new StripeRefusal(400, "You cannot pass `line_items` in `setup` mode.", "line_items");
      if (!customer)
        throw new StripeRefusal(
          400,
          "A customer is required in setup mode for this integration.",
          "customer",
        );
      if (Object.keys(form).some((k) => k.startsWith("shipping_address_collection["))) {
        throw new StripeRefusal(
          400,
          "shipping_address_collection is not supported in setup mode.",
          "shipping_address_collection",
        );
      }
    } else {
      const priceId = form["line_items[0][price]"];
      if (!priceId)
        throw new StripeRefusal(
          400,
          "You must provide `line_items` in `payment` or `subscription` mode.",
          "line_items",
        );
      const price = this.options.prices[priceId];
      if (!price)
        throw new StripeRefusal(
          400,
          `No such price: '${priceId}'`,
          "line_items[0][price]",
          "invalid_request_error",
          "resource_missing",
        );
      if (mode === "payment" && price.recurring) {
        throw new StripeRefusal(
          400,
          "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
          "line_items[0][price]",
        );
      }
      if (mode === "subscription" && !price.recurring) {
        throw new StripeRefusal(
          400,
          "You must provide at least one recurring price in `subscription` mode when using prices.",
          "line_items[0][price]",
        );
      }
      const quantity = Number(form["line_items[0][quantity]"]);
      if (!Number.isInteger(quantity) || quantity < 1 || quantity > 999_999) {
        throw new StripeRefusal(400, "Invalid integer", "line_items[0][quantity]");
      }
      for (const [k, v] of Object.entries(form)) {
        if (k.startsWith("line_items[0][tax_rates][") && !this.options.taxRates.includes(v)) {
          throw new StripeRefusal(
            400,
            `No such tax rate: '${v}'`,
            "line_items[0][tax_rates][0]",
            "invalid_request_error",
            "resource_missing",
          );
        }
      }
      if (methods.includes("sepa_debit") && price.currency !== "eur") {
        throw new StripeRefusal(
          400,
          `The payment method type provided: sepa_debit is invalid. This payment method is available to Checkout Sessions with currency eur, but this session has currency ${price.currency}.`,
          "allowed_payment_method_types",
        );
      }
      if (
        mode === "subscription" &&
        Object.keys(form).some((k) => k.startsWith("invoice_creation["))
      ) {
        throw new StripeRefusal(
          400,
          "invoice_creation can only be used in payment mode.",
          "invoice_creation",
        );
      }
    }

    const id = randomId(livemode ? "cs_live_" : "cs_test_");
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(form)) {
      const m = /^metadata\[([^\]]+)\]$/.exec(k);
      if (m?.[1]) metadata[m[1]] = v;
    }
    const session: DoubleSession = {
      id,
      object: "checkout.session",
      livemode,
      account,
      mode,
      status: "open",
      payment_status: mode === "setup" ? "no_payment_required" : "unpaid",
      url: `${this.options.checkoutOrigin}/c/pay/${id}`,
      customer,
      client_reference_id: form.client_reference_id ?? null,
      metadata,
      expires_at: expiresAt,
      created: now,
      success_url: form.success_url ?? "",
      cancel_url: form.cancel_url ?? "",
      form,
    };
    this.sessions.set(id, session);
    return { status: 200, payload: this.publicSession(session) };
  }

  private updateCustomer(
    id: string,
    form: Record<string, string>,
    livemode: boolean,
    account: string | null,
  ): { status: number; payload: unknown } {
    const customer = this.customers.get(id);
    if (!customer || customer.livemode !== livemode || customer.account !== account) {
      throw new StripeRefusal(
        404,
        `No such customer: '${id}'`,
        "id",
        "invalid_request_error",
        "resource_missing",
      );
    }
    for (const name of Object.keys(form)) {
      if (name !== "tax_exempt")
        throw new StripeRefusal(400, `Received unknown parameter: ${name}`, name);
    }
    if (form.tax_exempt) customer.tax_exempt = form.tax_exempt;
    return { status: 200, payload: { object: "customer", ...customer } };
  }

  /**
   * The hosted checkout page, as far as a local run needs it: GET shows the session with a Pay
   * and a Cancel button; POST …/pay completes it (creating the customer, payment intent or
   * subscription Stripe would) and answers 303 to the success URL; POST …/cancel answers 303 to
   * the cancel URL. Returns null for paths that are not the hosted page.
   */
  handleHosted(request: Request): HostedResult | null {
    const url = new URL(request.url);
    const match = /^\/c\/pay\/([A-Za-z0-9_]+)(\/pay|\/cancel)?$/.exec(url.pathname);
    if (!match?.[1]) return null;
    const html = (status: number, body: string) => ({
      response: new Response(body, {
        status,
        headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" },
      }),
      events: [],
    });
    const session = this.sessions.get(match[1]);
    if (!session) return html(404, hostedHtml("Not found", "<p>No such checkout session.</p>"));
    const action = match[2];

    if (request.method === "GET" && !action) {
      if (session.status !== "open") {
        return html(
          410,
          hostedHtml("Checkout closed", `<p>This checkout is ${escapeHtml(session.status)}.</p>`),
        );
      }
      const what = session.mode === "setup" ? "Save payment method" : "Pay";
      const items = session.form["line_items[0][price]"]
        ? `<p>${escapeHtml(session.form["line_items[0][quantity]"] ?? "1")} × ${escapeHtml(session.form["line_items[0][price]"] ?? "")}</p>`
        : "";
      return html(
        200,
        hostedHtml(
          "Stripe double: checkout",
          `<p>Session <code>${escapeHtml(session.id)}</code>, ${escapeHtml(session.mode)} mode, ${escapeHtml(session.form["allowed_payment_method_types[0]"] ?? "card")}.</p>${items}
<p>This local stand-in takes no money.</p>
<form method="post" action="/c/pay/${escapeHtml(session.id)}/pay"><button id="pay" type="submit">${what}</button></form>
<form method="post" action="/c/pay/${escapeHtml(session.id)}/cancel"><button id="cancel" type="submit">Cancel</button></form>`,
        ),
      );
    }
    if (request.method === "POST" && action === "/cancel") {
      return { response: Response.redirect(session.cancel_url, 303), events: [] };
    }
    if (request.method === "POST" && action === "/pay") {
      if (session.status !== "open")
        return html(
          410,
          hostedHtml("Checkout closed", "<p>This checkout can no longer be paid.</p>"),
        );
      const events = this.completeSession(session.id);
      const success = session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id);
      return { response: Response.redirect(success, 303), events };
    }
    return html(
      405,
      hostedHtml("Method not allowed", "<p>Use the buttons on the checkout page.</p>"),
    );
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
      session.customer = randomId("cus_");
      this.customers.set(session.customer, {
        id: session.customer,
        livemode: session.livemode,
        account: session.account,
        tax_exempt: "none",
      });
    }
    const delayed =
      session.form["allowed_payment_method_types[0]"] === "sepa_debit" && session.mode !== "setup";
    session.status = "complete";
    session.url = null;
    session.payment_status =
      session.mode === "setup" ? "no_payment_required" : delayed ? "unpaid" : "paid";
    const extra = {
      payment_intent: session.mode === "payment" ? randomId("pi_") : null,
      subscription: session.mode === "subscription" ? randomId("sub_") : null,
      setup_intent: session.mode === "setup" ? randomId("seti_") : null,
    };
    const snapshot = (overrides: Record<string, unknown> = {}) => ({
      ...this.publicSession(session),
      ...extra,
      ...overrides,
    });
    const events = [this.event("checkout.session.completed", session, snapshot())];
    if (delayed) {
      session.payment_status = "paid";
      events.push(
        this.event(
          "checkout.session.async_payment_succeeded",
          session,
          snapshot({ payment_status: "paid" }),
        ),
      );
    }
    return events;
  }

  /** Expires an open session as Stripe does at `expires_at`, and returns the event. */
  expireSession(id: string): DoubleEvent {
    const session = this.sessions.get(id);
    if (session?.status !== "open") throw new Error(`stripe double: session ${id} is not open`);
    session.status = "expired";
    session.url = null;
    return this.event("checkout.session.expired", session, this.publicSession(session));
  }

  private event(
    type: string,
    session: DoubleSession,
    object: Record<string, unknown>,
  ): DoubleEvent {
    return {
      id: randomId("evt_"),
      object: "event",
      api_version: "2026-10-28.endive",
      type,
      livemode: session.livemode,
      created: Math.floor(Date.now() / 1000),
      ...(session.account ? { account: session.account } : {}),
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      data: { object },
    };
  }

  publicSession(session: DoubleSession): Record<string, unknown> {
    const { form: _form, account: _account, ...rest } = session;
    return rest;
  }
}
