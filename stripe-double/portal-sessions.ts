/**
 * `POST /v1/billing_portal/sessions`: the customer portal sessions the double hands out, with
 * Stripe's checks of the parameters and of the objects they name.
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

export class PortalSessions {
  readonly sessions = new Map<string, DoublePortalSession>();
  private readonly host: PortalHost;
  private readonly subscriptions: Map<string, DoubleSubscription>;

  constructor(host: PortalHost, subscriptions: Map<string, DoubleSubscription>) {
    this.host = host;
    this.subscriptions = subscriptions;
  }

  clear(): void {
    this.sessions.clear();
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
      livemode,
      customer: customerId,
      return_url: session.return_url,
      url: session.url,
      created: this.host.nowSeconds(),
      flow: flow ? { type: flow } : null,
    };
  }
}
