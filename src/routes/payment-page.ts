import { type Context, Hono, type MiddlewareHandler } from "hono";
import { languageDetector } from "hono/language";
import { nowSeconds } from "../clock.ts";
import { constantTimeEqual, sha256Hex } from "../crypto.ts";
import { findCheckoutByHash, markCheckoutOpened } from "../db/checkouts.ts";
import type { HonoEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";
import { LANGUAGES, type Language, type PageKind } from "../pages/messages.ts";
import { pageContentSecurityPolicy, renderPage } from "../pages/render.ts";
import { CHECKOUT_HASH_PATTERN, STATE_PATTERN } from "../schemas/checkout.ts";

/** Compared against when there is no record, so that both paths do the same work. */
const DUMMY_DIGEST = "0".repeat(64);

/**
 * Every answer under /checkout, the redirect and errors included: never cached, never a
 * referrer (the URL carries the state), nothing but the page's own style, and no cookies.
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

/**
 * The page's language from Accept-Language alone (Hono's language detector): German or English,
 * English for everybody else. Never a cookie: the page sets none.
 */
const detectLanguage = languageDetector({
  supportedLanguages: [...LANGUAGES],
  fallbackLanguage: LANGUAGES[0],
  order: ["header"],
  caches: false,
  ignoreCase: true,
});

type PageEnv = HonoEnv & { Variables: { language?: string } };

function page(c: Context<PageEnv>, kind: PageKind, status: 403 | 404 | 410 | 500): Response {
  // The language is known on the page's routes; a 5xx turned into a page may come before it.
  const language = (c.get("language") ?? LANGUAGES[0]) as Language;
  return c.body(renderPage(kind, language), status, {
    "Content-Type": "text/html; charset=utf-8",
    Vary: "Accept-Language",
  });
}

/** The Stripe URL exactly as recorded, only if it is one a browser may be sent to. */
function stripeLocation(stripeUrl: string): string {
  const protocol = URL.canParse(stripeUrl) ? new URL(stripeUrl).protocol : null;
  if (protocol !== "https:" && protocol !== "http:") {
    throw new ApiError("internal", MESSAGES.internal, {
      cause: new Error("The recorded Stripe URL is not an http(s) URL"),
    });
  }
  return stripeUrl;
}

async function paymentPage(c: Context<HonoEnv, "/checkout/:hash">): Promise<Response> {
  // Decided before any lookup: without a well-formed state nothing is looked up.
  const state = c.req.query("state");
  if (state === undefined || !STATE_PATTERN.test(state)) return page(c, "incomplete", 403);

  const hash = c.req.param("hash");
  const record = CHECKOUT_HASH_PATTERN.test(hash) ? await findCheckoutByHash(c.env.DB, hash) : null;
  // One answer for an unknown hash and a wrong state, after the same constant-time comparison:
  // the page never tells whether a hash exists to someone without its state.
  const matches = constantTimeEqual(await sha256Hex(state), record?.stateDigest ?? DUMMY_DIGEST);
  if (!record || !matches) return page(c, "invalid", 404);

  const now = nowSeconds();
  switch (record.status) {
    case "complete":
      return page(c, record.paymentStatus === "failed" ? "paymentFailed" : "completed", 410);
    case "expired":
      return page(c, record.supersededAt === null ? "expired" : "replaced", 410);
    case "pending":
      return page(c, "notReady", 404);
    case "open": {
      if (record.expiresAt <= now) return page(c, "expired", 410);
      // A newer checkout of the tenant replaced it (two tabs must not buy twice).
      if (record.supersededAt !== null) return page(c, "replaced", 410);
      if (!record.stripeUrl) return page(c, "notReady", 404);
      const location = stripeLocation(record.stripeUrl);
      // Only a person's first visit writes, and never on the way to Stripe: the redirect does
      // not wait for it. Later visits and HEAD (link previewers) leave opened_at alone.
      if (record.openedAt === null && c.req.method === "GET") {
        c.executionCtx.waitUntil(
          markCheckoutOpened(c.env.DB, record.id, now).catch((err: unknown) => {
            const error = err instanceof Error ? err.name : "unknown";
            console.error(JSON.stringify({ write: "opened_at", checkoutId: record.id, error }));
          }),
        );
      }
      return c.redirect(location, 303);
    }
  }
}

/**
 * The payment page. A trailing slash is the same page; anything else under /checkout (a
 * truncated or mangled link) is the "invalid link" page, never the JSON envelope.
 */
export const paymentPageRoutes = new Hono<HonoEnv>()
  .use("/checkout", pageSecurityHeaders, detectLanguage)
  .use("/checkout/*", pageSecurityHeaders, detectLanguage)
  .get("/checkout/:hash", paymentPage)
  .get("/checkout/:hash/", paymentPage)
  .get("/checkout", (c) => page(c, "invalid", 404))
  .get("/checkout/*", (c) => page(c, "invalid", 404));
