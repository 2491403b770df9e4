/** `POST /v1/checkout/sessions` as Stripe checks and executes it, for what this service sends. */
import { formGroup, noSuch, type Price, randomId, StripeRefusal } from "./wire.ts";

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
  subscription: string | null;
  payment_intent: string | null;
  setup_intent: string | null;
  invoice: string | null;
  form: Record<string, string>;
}

export interface DoubleCustomer {
  id: string;
  livemode: boolean;
  account: string | null;
  tax_exempt: string;
  deleted: boolean;
}

/** What a session is checked against: the catalogue and the customers of the double. */
export interface SessionWorld {
  prices: Record<string, Price>;
  taxRates: string[];
  customers: Map<string, DoubleCustomer>;
  checkoutOrigin: string;
}

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

const refuse = (message: string, param?: string) =>
  new StripeRefusal(400, message, param === undefined ? {} : { param });

/** The checks of the parameters alone, before Stripe executes anything (nothing is saved). */
function checkParameters(form: Record<string, string>, now: number): void {
  for (const name of Object.keys(form)) {
    if (!KNOWN_SESSION_PARAMS.some((pattern) => pattern.test(name))) {
      throw new StripeRefusal(400, `Received unknown parameter: ${name}`, {
        param: name,
        code: "parameter_unknown",
      });
    }
  }
  const mode = form.mode;
  if (!mode || !["payment", "subscription", "setup"].includes(mode)) {
    throw refuse("Invalid mode: must be one of payment, setup, or subscription", "mode");
  }
  for (const param of ["success_url", "cancel_url"]) {
    const value = form[param];
    if (!value || !/^https?:\/\//.test(value)) throw refuse("Not a valid URL", param);
  }
  // Against the session's own creation time, without slack, as Stripe checks it.
  const expiresAt = form.expires_at ? Number(form.expires_at) : now + 24 * 3600;
  if (!Number.isInteger(expiresAt) || expiresAt < now + 30 * 60 || expiresAt > now + 24 * 3600) {
    throw refuse(
      "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
      "expires_at",
    );
  }
  for (const type of Object.values(formGroup(form, "allowed_payment_method_types"))) {
    if (type === "sofort") {
      throw refuse(
        "The payment method `sofort` is no longer supported.",
        "allowed_payment_method_types",
      );
    }
    if (!PAYMENT_METHOD_TYPES.has(type)) {
      throw refuse(`Invalid payment method type: ${type}`, "allowed_payment_method_types");
    }
  }
  const has = (prefix: string) => Object.keys(form).some((k) => k.startsWith(prefix));
  if (!form.customer && has("customer_update[")) {
    throw refuse("customer_update can only be used with customer.", "customer_update");
  }
  if (form.customer_creation && (mode === "subscription" || form.customer)) {
    throw refuse(
      "customer_creation can only be used in payment and setup mode without customer.",
      "customer_creation",
    );
  }
  if (mode === "setup") {
    if (form["line_items[0][price]"]) {
      throw refuse("You cannot pass `line_items` in `setup` mode.", "line_items");
    }
    if (!form.customer) {
      throw refuse("A customer is required in setup mode for this integration.", "customer");
    }
    if (has("shipping_address_collection[")) {
      throw refuse(
        "shipping_address_collection is not supported in setup mode.",
        "shipping_address_collection",
      );
    }
    return;
  }
  if (!form["line_items[0][price]"]) {
    throw refuse(
      "You must provide `line_items` in `payment` or `subscription` mode.",
      "line_items",
    );
  }
  const quantity = Number(form["line_items[0][quantity]"]);
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > 999_999) {
    throw refuse("Invalid integer", "line_items[0][quantity]");
  }
  if (mode === "subscription" && has("invoice_creation[")) {
    throw refuse("invoice_creation can only be used in payment mode.", "invoice_creation");
  }
}

/** The checks that need Stripe's objects (prices, tax rates, customers): executed, so saved. */
function checkObjects(
  world: SessionWorld,
  form: Record<string, string>,
  livemode: boolean,
  account: string | null,
): void {
  const customer = form.customer;
  if (customer) {
    const known = world.customers.get(customer);
    if (!known || known.deleted || known.livemode !== livemode || known.account !== account) {
      throw noSuch("customer", customer, "customer");
    }
  }
  if (form.mode === "setup") return;
  const priceId = form["line_items[0][price]"] ?? "";
  const price = world.prices[priceId];
  if (!price) throw noSuch("price", priceId, "line_items[0][price]");
  const saved = (message: string, param: string) =>
    new StripeRefusal(400, message, { param, saved: true });
  if (form.mode === "payment" && price.recurring) {
    throw saved(
      "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
      "line_items[0][price]",
    );
  }
  if (form.mode === "subscription" && !price.recurring) {
    throw saved(
      "You must provide at least one recurring price in `subscription` mode when using prices.",
      "line_items[0][price]",
    );
  }
  for (const rate of Object.values(formGroup(form, "line_items[0][tax_rates]"))) {
    if (!world.taxRates.includes(rate))
      throw noSuch("tax rate", rate, "line_items[0][tax_rates][0]");
  }
  const methods = Object.values(formGroup(form, "allowed_payment_method_types"));
  if (methods.includes("sepa_debit") && price.currency !== "eur") {
    throw saved(
      `The payment method type provided: sepa_debit is invalid. This payment method is available to Checkout Sessions with currency eur, but this session has currency ${price.currency}.`,
      "allowed_payment_method_types",
    );
  }
}

/** Checks a create request as Stripe does and makes the session it would make. */
export function createCheckoutSession(
  world: SessionWorld,
  form: Record<string, string>,
  livemode: boolean,
  account: string | null,
  now: number,
): DoubleSession {
  checkParameters(form, now);
  checkObjects(world, form, livemode, account);
  const id = randomId(livemode ? "cs_live_" : "cs_test_");
  const mode = form.mode ?? "payment";
  return {
    id,
    object: "checkout.session",
    livemode,
    account,
    mode,
    status: "open",
    payment_status: mode === "setup" ? "no_payment_required" : "unpaid",
    url: `${world.checkoutOrigin}/c/pay/${id}`,
    customer: form.customer ?? null,
    client_reference_id: form.client_reference_id ?? null,
    metadata: formGroup(form, "metadata"),
    expires_at: form.expires_at ? Number(form.expires_at) : now + 24 * 3600,
    created: now,
    success_url: form.success_url ?? "",
    cancel_url: form.cancel_url ?? "",
    subscription: null,
    payment_intent: null,
    setup_intent: null,
    invoice: null,
    form,
  };
}

/**
 * `GET /v1/checkout/sessions/:id` takes only `expand[]`, which the double does not implement:
 * anything else is refused as Stripe refuses an unknown parameter, and an expansion is refused
 * loudly rather than answered unexpanded.
 */
export function checkReadParameters(form: Record<string, string>): void {
  for (const name of Object.keys(form)) {
    if (/^expand\[\d*\]$/.test(name)) {
      throw new StripeRefusal(
        400,
        "stripe double: expand[] of a checkout session is not implemented",
        {
          param: "expand",
        },
      );
    }
    throw new StripeRefusal(400, `Received unknown parameter: ${name}`, {
      param: name,
      code: "parameter_unknown",
    });
  }
}

/** A session as the API shows it: without what the double keeps for itself. */
export function publicSession(session: DoubleSession): Record<string, unknown> {
  const { form: _form, account: _account, ...rest } = session;
  return rest;
}
