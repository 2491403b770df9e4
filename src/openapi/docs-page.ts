import { escapeHtml } from "../pages/escape.ts";

/**
 * Where Scalar's browser bundle is served: by the Workers static-assets layer (wrangler.toml
 * [assets]), from the copy scripts/docs-assets.ts makes of the installed @scalar/api-reference.
 */
export const SCALAR_BUNDLE_PATH = "/docs/scalar/standalone.js";

/**
 * Scalar's configuration, read by its HTML API from `data-configuration`. Everything the page
 * loads or calls is on this origin: the document, the bundle, and the requests of its
 * "Test Request" client (sent straight to the document's server, the page's own origin).
 */
export const SCALAR_CONFIGURATION = {
  url: "/openapi.json",
  // The default loads Inter and JetBrains Mono from fonts.scalar.com; system fonts do here.
  withDefaultFonts: false,
  telemetry: false,
  // The developer tools' share and deploy buttons and the "Ask AI" agent use Scalar's services.
  showDeveloperTools: "never",
  agent: { disabled: true },
  mcp: { disabled: true },
  // "Open API Client" links to Scalar's hosted client; "Test Request" is the client on the page.
  hideClientButton: true,
  // Credentials typed into the client stay in the tab, never in localStorage.
  persistAuth: false,
  documentDownloadType: "json",
} as const;

/**
 * The page: Scalar's configuration in a data block (never run) and its one script. Scalar
 * draws the rest; without JavaScript the page points to the document itself.
 */
export function renderDocsPage(info: { title: string; version: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(info.title)} API ${escapeHtml(info.version)}</title>
</head>
<body>
<noscript><p>This API reference needs JavaScript. The OpenAPI document is at <a href="/openapi.json">/openapi.json</a>.</p></noscript>
<script id="api-reference" type="application/json" data-configuration="${escapeHtml(JSON.stringify(SCALAR_CONFIGURATION))}"></script>
<script src="${SCALAR_BUNDLE_PATH}"></script>
</body>
</html>
`;
}

/**
 * The CSP of /docs. Scripts: only the bundle, by its full URL (a source with a path needs the
 * origin). Styles: Scalar writes <style> elements and style attributes at run time, most of
 * them without its nonce, so inline styles are allowed (docs/decisions.md). Requests: this
 * origin only. Fonts, images, frames, workers, forms: none.
 */
export function docsContentSecurityPolicy(origin: string): string {
  return [
    "default-src 'none'",
    `script-src ${origin}${SCALAR_BUNDLE_PATH}`,
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}
