import { type Context, Hono, type MiddlewareHandler } from "hono";
import { sha256Hex } from "../apps/keys.ts";
import { CHECKOUT_HASH_PATTERN } from "../checkouts/hash.ts";
import { type CheckoutRecord, findCheckoutByHash, markCheckoutOpened } from "../db/checkouts.ts";
import type { HonoEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { type PageKind, pickLanguage } from "../pages/messages.ts";
import { pageContentSecurityPolicy, renderPage } from "../pages/render.ts";
import { STATE_PATTERN } from "../schemas/checkout.ts";
import { methodNotAllowed } from "./method-not-allowed.ts";

/** Compared against when there is no record, so that both paths do the same work. */
const DUMMY_DIGEST = "0".repeat(64);

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Every answer of the page, the redirect and errors included: never cached, never a referrer
 * (the URL carries the state), nothing but the page's own style, and no cookies.
 */
const pageSecurityHeaders: MiddlewareHandler<HonoEnv> = async (c, next) => {
  await next();
  // Anything unexpected (D1 down) is still a page for a person, not a JSON envelope; the
  // error itself stays on the context for the request log.
  if (c.res.status >= 500) {
    c.res = page(c, "error", 500);
  }
  const headers = c.res.headers;
  headers.set("Cache-Control", "no-store");
  headers.set("Referrer-Policy", "no-referrer");
  headers.set("X-Content-Type-Options", "nosniff");
  headers.set("X-Robots-Tag", "noindex, nofollow");
  headers.set("Content-Security-Policy", await pageContentSecurityPolicy());
  headers.delete("Set-Cookie");
};

function page(c: Context<HonoEnv>, kind: PageKind, status: 403 | 404 | 410 | 500): Response {
  return c.body(renderPage(kind, pickLanguage(c.req.header("Accept-Language"))), status, {
    "Content-Type": "text/html; charset=utf-8",
    Vary: "Accept-Language",
  });
}

const encoder = new TextEncoder();

/**
 * Whether the state's digest is the record's, in constant time. Without a record (or with a
 * stored digest of an unexpected length) the digest is compared against a dummy, so an unknown
 * hash and a wrong state cost the same.
 */
function stateMatches(record: CheckoutRecord | null, stateDigest: string): boolean {
  const given = encoder.encode(stateDigest);
  const stored = record ? encoder.encode(record.stateDigest) : null;
  const usable = stored !== null && stored.byteLength === given.byteLength;
  const equal = crypto.subtle.timingSafeEqual(
    given,
    usable ? stored : encoder.encode(DUMMY_DIGEST),
  );
  return usable && equal;
}

/** The Stripe URL exactly as recorded, only if it is one a browser may be sent to. */
function stripeLocation(stripeUrl: string): string {
  const protocol = URL.canParse(stripeUrl) ? new URL(stripeUrl).protocol : null;
  if (protocol !== "https:" && protocol !== "http:") {
    throw new ApiError("internal", "Internal error", {
      cause: new Error("The recorded Stripe URL is not an http(s) URL"),
    });
  }
  return stripeUrl;
}

export const paymentPageRoutes = new Hono<HonoEnv>()
  .use("/checkout/:hash", pageSecurityHeaders)
  .get("/checkout/:hash", async (c) => {
    // Decided before any lookup: without a well-formed state nothing is looked up.
    const state = c.req.query("state");
    if (state === undefined || !STATE_PATTERN.test(state)) return page(c, "incomplete", 403);

    const hash = c.req.param("hash");
    const record = CHECKOUT_HASH_PATTERN.test(hash)
      ? await findCheckoutByHash(c.env.DB, hash)
      : null;
    // One answer for an unknown hash and a wrong state: the page never tells whether a hash
    // exists to someone without its state.
    if (!stateMatches(record, await sha256Hex(state)) || !record) {
      return page(c, "invalid", 404);
    }

    const now = nowSeconds();
    switch (record.status) {
      case "complete":
        return page(c, record.paymentStatus === "failed" ? "paymentFailed" : "completed", 410);
      case "expired":
        return page(c, "expired", 410);
      case "pending":
        return page(c, "notReady", 404);
      case "open": {
        if (record.expiresAt <= now) return page(c, "expired", 410);
        if (!record.stripeUrl) return page(c, "notReady", 404);
        const location = stripeLocation(record.stripeUrl);
        // Only a person's first visit writes: later visits, and HEAD (link previewers; Hono
        // answers HEAD with the GET route), leave opened_at alone.
        if (record.openedAt === null && c.req.method === "GET") {
          await markCheckoutOpened(c.env.DB, record.id, now);
        }
        return c.redirect(location, 303);
      }
    }
  })
  .all("/checkout/:hash", methodNotAllowed("GET"));
