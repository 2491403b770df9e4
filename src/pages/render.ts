import { strictStylePolicy } from "./csp.ts";
import { escapeHtml } from "./escape.ts";
import { type Language, PAGE_TEXTS, type PageKind } from "./messages.ts";

/** The page's only style; the CSP allows exactly this text by its hash. */
const PAGE_STYLE =
  ":root{color-scheme:light dark}" +
  "body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;" +
  "font-size:1.25rem;line-height:1.5;background:Canvas;color:CanvasText}" +
  "main{max-width:34rem;margin:0 auto;padding:3rem 1.25rem}" +
  "h1{font-size:1.75rem;line-height:1.25;margin:0 0 1rem}" +
  "p{margin:0 0 1rem}";

/** The strict CSP of every answer of the payment page. */
export function pageContentSecurityPolicy(): Promise<string> {
  return strictStylePolicy(PAGE_STYLE);
}

/**
 * The whole HTML of one page. It is made only from fixed texts: nothing from the request
 * (hash, state, headers) ever appears in it.
 */
export function renderPage(kind: PageKind, language: Language): string {
  const message = PAGE_TEXTS[kind][language];
  return `<!doctype html>
<html lang="${language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(message.title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(message.title)}</h1>
<p>${escapeHtml(message.what)}</p>
<p>${escapeHtml(message.todo)}</p>
</main>
</body>
</html>
`;
}
