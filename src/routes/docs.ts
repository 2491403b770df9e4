import { Hono } from "hono";
import type { HonoEnv } from "../env.ts";
import { documentForOrigin } from "../openapi/document.ts";
import { docsContentSecurityPolicy, renderDocsPage } from "../openapi/html.ts";

/**
 * Rendered pages by origin (the page names its server). An isolate is normally reached under
 * one or two origins; the bound only keeps odd Host headers from growing the cache.
 */
const pages = new Map<string, string>();
const MAX_CACHED_PAGES = 8;

function docsPage(origin: string): string {
  let page = pages.get(origin);
  if (page === undefined) {
    if (pages.size >= MAX_CACHED_PAGES) pages.clear();
    page = renderDocsPage(documentForOrigin(origin));
    pages.set(origin, page);
  }
  return page;
}

/** The OpenAPI document of this API, and the same document as a page. Public, no I/O. */
export const docsRoutes = new Hono<HonoEnv>()
  .get("/openapi.json", (c) =>
    c.body(JSON.stringify(documentForOrigin(new URL(c.req.url).origin)), 200, {
      "Content-Type": "application/json",
      "X-Content-Type-Options": "nosniff",
    }),
  )
  .get("/docs", async (c) =>
    c.body(docsPage(new URL(c.req.url).origin), 200, {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy": await docsContentSecurityPolicy(),
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
    }),
  );
