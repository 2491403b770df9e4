/**
 * `POST /v1/billing_portal/sessions`: the customer portal sessions the double hands out, with
 * Stripe's checks of the parameters and of the objects they name, and the portal's settings:
 * Stripe opens no portal in a mode and account whose settings were never saved.
 */
import type { DoublePortalSession, DoubleSubscription } from "./billing-objects.ts";
import { noSuch, owns, randomId, StripeRefusal } from "./wire.ts";

/** What the portal needs of the double: its clock, its page origin, its customers. */
export interface PortalHost {
  nowSeconds(): number;
  checkoutOrigin: string;
  customers: Map<string, { livemode: boolean; account: string | null; deleted: boolean }>;
}

const FLOWS = ["payment_method_update", "subscription_cancel", "subscription_update"];

/**
 * Stripe's refusal of a portal session in a mode and account without saved portal settings (its
 * default configuration), word for word (docs/stripe-double.md names the source). No code, no
 * param: it is about the account, not the request.
 */
function notConfigured(livemode: boolean): StripeRefusal {
  const mode = livemode ? "live" : "test";
  const settings = `https://dashboard.stripe.com/${livemode ? "" : "test/"}settings/billing/portal`;
  return new StripeRefusal(
    400,
    `You can’t create a portal session in ${mode} mode until you save your customer portal settings in ${mode} mode at ${settings}.`,
    { saved: true },
  );
}

const scopeOf = (livemode: boolean, account: string | null) => `${livemode}|${account ?? ""}`;

export class PortalSessions {
  readonly sessions = new Map<string, DoublePortalSession>();
  /** The default configuration (bpc_…) of each mode and account whose settings were saved. */
  private readonly configurations = new Map<string, string>();
  private readonly host: PortalHost;
  private readonly subscriptions: Map<string, DoubleSubscription>;

  constructor(host: PortalHost, subscriptions: Map<string, DoubleSubscription>) {
    this.host = host;
    this.subscriptions = subscriptions;
  }

  clear(): void {
    this.sessions.clear();
    this.configurations.clear();
  }

  /**
   * Saves the portal's settings of a mode and account (the platform's own, or a connected one),
   * as its operator does once in the Dashboard; returns its default configuration's id.
   */
  saveConfiguration(livemode: boolean, account: string | null): string {
    const scope = scopeOf(livemode, account);
    const id = this.configurations.get(scope) ?? randomId("bpc_");
    this.configurations.set(scope, id);
    return id;
  }

  create(
    form: Record<string, string>,
    livemode: boolean,
    account: string | null,
  ): Record<string, unknown> {
    const known =
      /^(customer|return_url|flow_data\[type\]|flow_data\[(subscription_cancel|subscription_update)\]\[subscription\])$/;
    for (const name of Object.keys(form)) {
      if (!known.test(name)) {
        throw new StripeRefusal(400, `Received unknown parameter: ${name}`, {
          param: name,
          code: "parameter_unknown",
        });
      }
    }
    const customerId = form.customer ?? "";
    if (!customerId)
      throw new StripeRefusal(400, "Missing required param: customer.", { param: "customer" });
    if (!form.return_url || !/^https?:\/\//.test(form.return_url)) {
      throw new StripeRefusal(400, "Not a valid URL", { param: "return_url" });
    }
    const flow = form["flow_data[type]"] ?? null;
    if (flow && !FLOWS.includes(flow)) {
      throw new StripeRefusal(400, `Invalid flow_data[type]: ${flow}`, {
        param: "flow_data[type]",
      });
    }
    const subscriptionParam =
      flow && flow !== "payment_method_update" ? `flow_data[${flow}][subscription]` : null;
    const subscriptionId = subscriptionParam ? form[subscriptionParam] : undefined;
    if (subscriptionParam && !subscriptionId) {
      throw new StripeRefusal(400, `Missing required param: ${subscriptionParam}.`, {
        param: subscriptionParam,
      });
    }
    const configuration = this.configurations.get(scopeOf(livemode, account));
    if (!configuration) throw notConfigured(livemode);
    const customer = this.host.customers.get(customerId);
    if (!customer || customer.deleted || !owns(customer, livemode, account)) {
      throw noSuch("customer", customerId, "customer");
    }
    if (subscriptionId) {
      const sub = this.subscriptions.get(subscriptionId);
      if (!sub || !owns(sub, livemode, account) || sub.customer !== customerId) {
        throw noSuch("subscription", subscriptionId, subscriptionParam ?? "subscription");
      }
    }
    const id = randomId("bps_");
    const session: DoublePortalSession = {
      id,
      livemode,
      account,
      customer: customerId,
      return_url: form.return_url,
      flow,
      subscription: subscriptionId ?? null,
      url: `${this.host.checkoutOrigin}/p/session/${id}`,
    };
    this.sessions.set(id, session);
    return {
      id,
      object: "billing_portal.session",
      configuration,
      livemode,
      customer: customerId,
      return_url: session.return_url,
      url: session.url,
      created: this.host.nowSeconds(),
      flow: flow ? { type: flow } : null,
    };
  }
}
