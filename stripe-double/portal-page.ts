/**
 * The double's customer portal and invoice pages, as far as a local run needs them: the tenant's
 * subscriptions with "cancel at period end", "change quantity" and "update card", each sending
 * the events Stripe would; a link back to the app's return URL; an invoice's hosted page.
 */
import type { StripeDouble } from "./double.ts";
import { type HostedResult, html } from "./hosted.ts";
import { escapeHtml, hostedHtml } from "./wire.ts";

export function handleHostedPortal(double: StripeDouble, request: Request): HostedResult | null {
  const url = new URL(request.url);
  const invoice = /^\/i\/(in_[A-Za-z0-9]+)(\/pdf)?$/.exec(url.pathname);
  if (invoice?.[1] && request.method === "GET") {
    const found = double.billing.invoices.get(invoice[1]);
    if (!found) return html(404, hostedHtml("Not found", "<p>No such invoice.</p>"));
    const amount = `${(found.amount_due / 100).toFixed(2)} ${found.currency.toUpperCase()}`;
    return html(
      200,
      hostedHtml(
        `Stripe double: invoice${invoice[2] ? " (PDF)" : ""}`,
        `<p>Invoice <code>${escapeHtml(found.id)}</code>: ${escapeHtml(amount)}, ${escapeHtml(found.status)}.</p>`,
      ),
    );
  }
  const match = /^\/p\/session\/(bps_[A-Za-z0-9]+)(\/(cancel|quantity|card))?$/.exec(url.pathname);
  if (!match?.[1]) return null;
  const session = double.billing.portal.sessions.get(match[1]);
  if (!session) return html(404, hostedHtml("Not found", "<p>No such portal session.</p>"));
  const subscriptions = [...double.billing.subscriptions.values()].filter(
    (s) => s.customer === session.customer && s.livemode === session.livemode,
  );
  const action = match[3];
  if (request.method === "POST" && action) {
    const form = url.searchParams;
    const target = subscriptions.find((s) => s.id === form.get("subscription"));
    if (!target)
      return html(400, hostedHtml("Which subscription?", "<p>Use the page's buttons.</p>"));
    const events =
      action === "cancel"
        ? double.billing.cancel(target.id, true)
        : action === "card"
          ? double.billing.updateCard(target.id)
          : double.billing.changeQuantity(
              target.id,
              Math.max(1, Number(form.get("quantity") ?? 1)),
            );
    return { response: Response.redirect(`${url.origin}/p/session/${session.id}`, 303), events };
  }
  if (request.method !== "GET" || action) {
    return html(
      405,
      hostedHtml("Method not allowed", "<p>Use the buttons on the portal page.</p>"),
    );
  }
  const rows = subscriptions
    .map((s) => {
      const base = `/p/session/${escapeHtml(session.id)}`;
      const sub = `subscription=${encodeURIComponent(s.id)}`;
      const cancel =
        s.cancel_at_period_end || s.cancel_at !== null || s.status === "canceled"
          ? "<em>ends at the period's end</em>"
          : `<form method="post" action="${base}/cancel?${sub}"><button class="cancel" type="submit">Cancel at period end</button></form>`;
      return `<li><code>${escapeHtml(s.id)}</code>: ${escapeHtml(s.status)}, ${s.quantity} × ${escapeHtml(s.price)}
${cancel}
<form method="post" action="${base}/quantity?${sub}&quantity=${s.quantity + 1}"><button class="quantity" type="submit">Change quantity to ${s.quantity + 1}</button></form>
<form method="post" action="${base}/card?${sub}"><button class="card" type="submit">Update card</button></form></li>`;
    })
    .join("\n");
  const flow = session.flow
    ? `<p>Opened for: <strong>${escapeHtml(session.flow)}</strong>.</p>`
    : "";
  return html(
    200,
    hostedHtml(
      "Stripe double: customer portal",
      `${flow}<ul>${rows || "<li>No subscriptions.</li>"}</ul>
<p><a id="return" href="${escapeHtml(session.return_url)}">Back to the app</a></p>`,
    ),
  );
}
