/** The double's hosted pages, as far as a local run needs them: Stripe Checkout's Pay / Cancel. */
import type { StripeDouble } from "./double.ts";
import { type DoubleEvent, escapeHtml, hostedHtml } from "./wire.ts";

export interface HostedResult {
  response: Response;
  /** Events the hosted page caused, in the order Stripe would send them. */
  events: DoubleEvent[];
}

/** An HTML answer of a hosted page, with no events. */
export function html(status: number, body: string): HostedResult {
  return {
    response: new Response(body, {
      status,
      headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" },
    }),
    events: [],
  };
}

/**
 * GET /c/pay/<id> shows the session with a Pay and a Cancel button; POST …/pay completes it
 * (creating the customer, payment intent or subscription Stripe would) and answers 303 to the
 * success URL; POST …/cancel answers 303 to the cancel URL. Returns null for other paths.
 */
export function handleHostedCheckout(double: StripeDouble, request: Request): HostedResult | null {
  const url = new URL(request.url);
  const match = /^\/c\/pay\/([A-Za-z0-9_]+)(\/pay|\/cancel)?$/.exec(url.pathname);
  if (!match?.[1]) return null;
  const session = double.sessions.get(match[1]);
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
    if (session.status !== "open") {
      return html(
        410,
        hostedHtml("Checkout closed", "<p>This checkout can no longer be paid.</p>"),
      );
    }
    const events = double.completeSession(session.id);
    const success = session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id);
    return { response: Response.redirect(success, 303), events };
  }
  return html(
    405,
    hostedHtml("Method not allowed", "<p>Use the buttons on the checkout page.</p>"),
  );
}
