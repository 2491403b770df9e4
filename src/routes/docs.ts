import { Hono } from "hono";
import type { HonoEnv } from "../env.ts";
import { docsContentSecurityPolicy, renderDocsPage } from "../openapi/docs-page.ts";
import { documentForOrigin, openApiDocument } from "../openapi/document.ts";

/** The page is the same for every origin (its links are relative): made once per isolate. */
let page: string | undefined;

/** The OpenAPI document of this API, and the page that shows it (Scalar). Public, no I/O. */
export const docsRoutes = new Hono<HonoEnv>()
  .get("/openapi.json", (c) =>
    c.body(JSON.stringify(documentForOrigin(new URL(c.req.url).origin)), 200, {
      "Content-Type": "application/json",
      "X-Content-Type-Options": "nosniff",
    }),
  )
  .get("/docs", (c) => {
    page ??= renderDocsPage(openApiDocument().info);
    return c.body(page, 200, {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy": docsContentSecurityPolicy(new URL(c.req.url).origin),
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
    });
  });
