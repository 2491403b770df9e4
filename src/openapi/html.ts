import { strictStylePolicy } from "../pages/csp.ts";
import { escapeHtml } from "../pages/escape.ts";
import {
  HTTP_METHODS,
  type JsonSchema,
  type MediaTypeObject,
  type OpenApiDocument,
  type OperationObject,
  type ParameterObject,
  type Ref,
  type ResponseObject,
  type SecurityRequirement,
} from "./types.ts";

/** The page's only style; the CSP allows exactly this text by its hash. */
export const DOCS_STYLE =
  ":root{color-scheme:light dark}" +
  "body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;" +
  "font-size:1rem;line-height:1.5;background:Canvas;color:CanvasText}" +
  "main{max-width:60rem;margin:0 auto;padding:1.5rem 1rem 4rem}" +
  "h1{font-size:1.75rem;line-height:1.25;margin:0 0 .5rem}" +
  "h2{font-size:1.3rem;margin:2.5rem 0 .5rem;overflow-wrap:anywhere}" +
  "h3{font-size:1.05rem;margin:1.25rem 0 .25rem}" +
  "h4{font-size:1rem;margin:1rem 0 .25rem}" +
  "section{border-top:1px solid GrayText;margin-top:2rem}" +
  "code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.875rem}" +
  "code{overflow-wrap:anywhere}td:first-child code{overflow-wrap:normal}" +
  "pre{white-space:pre-wrap;overflow-wrap:anywhere;padding:.75rem;margin:.25rem 0 .75rem;" +
  "border:1px solid GrayText;border-radius:.25rem}" +
  ".scroll{overflow-x:auto}" +
  "table{border-collapse:collapse;width:100%}" +
  "th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid GrayText}" +
  // Narrow screens: each row becomes a block, each cell labelled with its column.
  "@media (max-width:40rem){table,tbody,tr,td{display:block}thead{display:none}" +
  "tr{border-bottom:1px solid GrayText;padding:.4rem 0}td{border:0;padding:.1rem 0}" +
  "td[data-label]::before{content:attr(data-label) ': ';font-weight:600}}" +
  ".method{font-family:ui-monospace,monospace;font-weight:700;text-transform:uppercase;margin-right:.5rem}" +
  "details{margin:.25rem 0}summary{cursor:pointer}" +
  "ul{padding-left:1.25rem}";

/** Prose of the document: paragraphs at blank lines, everything escaped. */
function prose(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`)
    .join("\n");
}

/** JSON on one line, with a space after each comma and colon (never inside strings). */
function flatJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(flatJson).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${flatJson(v)}`);
    return `{${entries.join(", ")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** JSON as people read it: indented, but short values and lists of plain values on one line. */
function prettyJson(value: unknown, indent = ""): string {
  if (typeof value !== "object" || value === null) return flatJson(value);
  const flat = flatJson(value);
  const plainList = Array.isArray(value) && value.every((v) => typeof v !== "object" || v === null);
  if (plainList || flat.length + indent.length <= 72) return flat;
  const inner = `${indent}  `;
  const entries = Array.isArray(value)
    ? value.map((v) => `${inner}${prettyJson(v, inner)}`)
    : Object.entries(value).map(
        ([k, v]) => `${inner}${JSON.stringify(k)}: ${prettyJson(v, inner)}`,
      );
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  return `${open}\n${entries.join(",\n")}\n${indent}${close}`;
}

const pretty = (value: unknown) => `<pre>${escapeHtml(prettyJson(value))}</pre>`;
const code = (text: string) => `<code>${escapeHtml(text)}</code>`;

function isRef(value: unknown): value is Ref {
  return typeof value === "object" && value !== null && "$ref" in value;
}

/** Follows a local `#/components/…` reference of the document. */
function resolve<T>(document: OpenApiDocument, value: T | Ref): T {
  if (!isRef(value)) return value;
  let target: unknown = document;
  for (const segment of value.$ref.replace(/^#\//, "").split("/")) {
    target = (target as Record<string, unknown> | undefined)?.[segment];
  }
  if (target === undefined) throw new Error(`Unresolved reference ${value.$ref}`);
  return target as T;
}

const refName = (value: unknown) => (isRef(value) ? value.$ref.split("/").pop() : undefined);

function operationAnchor(operation: OperationObject): string {
  return `op-${operation.operationId.replace(/[^A-Za-z0-9_-]/g, "")}`;
}

export function operationsOf(document: OpenApiDocument) {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    HTTP_METHODS.flatMap((method) => {
      const operation = item[method];
      return operation ? [{ path, method, operation }] : [];
    }),
  );
}

function describeSecurity(document: OpenApiDocument, security: SecurityRequirement[]): string {
  if (security.length === 0) return "<p>None: anyone may call this.</p>";
  const alternatives = security.map((requirement) => {
    const parts = Object.entries(requirement).map(([name, roles]) => {
      const scheme = document.components.securitySchemes[name];
      const label =
        scheme?.type === "apiKey"
          ? `header ${scheme.name}`
          : scheme?.type === "http"
            ? `Authorization: Bearer (${scheme.bearerFormat})`
            : name;
      return `${code(label)}${roles.length > 0 ? ` (${escapeHtml(roles.join(" or "))} key)` : ""}`;
    });
    return `<li>${parts.join(" + ")}</li>`;
  });
  return `<p>One of:</p><ul>${alternatives.join("")}</ul>`;
}

function schemaBlock(document: OpenApiDocument, schema: JsonSchema | Ref, label: string): string {
  const name = refName(schema);
  const resolved = resolve(document, schema);
  return `<details><summary>${escapeHtml(label)}${name ? ` ${code(name)}` : ""}</summary>${pretty(resolved)}</details>`;
}

/** One line per field of a schema, nested objects as dotted names (data.checkout.id). */
function fieldRows(schema: JsonSchema, prefix = "", depth = 0): string[] {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (!properties || depth > 4) return [];
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(properties).flatMap(([name, field]) => {
    const path = `${prefix}${name}`;
    const variants = (field.anyOf as JsonSchema[] | undefined) ?? [field];
    const row = `<tr><td>${code(path)}</td><td data-label="Type">${escapeHtml(typeOf(field))}</td><td data-label="Required">${required.has(name) ? "yes" : "no"}</td><td>${escapeHtml(String(field.description ?? ""))}</td></tr>`;
    return [row, ...variants.flatMap((variant) => fieldRows(variant, `${path}.`, depth + 1))];
  });
}

/** A field's type in a few words: its type, values, pattern, range and default. */
function typeOf(schema: JsonSchema): string {
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as JsonSchema[]).map(typeOf).join(" | ");
  const parts: string[] = [];
  if ("const" in schema) parts.push(JSON.stringify(schema.const));
  else if (Array.isArray(schema.enum)) {
    parts.push(
      schema.enum.length <= 8
        ? schema.enum.map((v) => JSON.stringify(v)).join(" | ")
        : `one of ${schema.enum.length} values (see the schema)`,
    );
  } else if (schema.type !== undefined) {
    parts.push(Array.isArray(schema.type) ? schema.type.join(" | ") : String(schema.type));
  }
  if (typeof schema.format === "string") parts.push(schema.format);
  else if (typeof schema.pattern === "string") parts.push(`matching ${schema.pattern}`);
  if (schema.minimum !== undefined || schema.maximum !== undefined) {
    parts.push(`${schema.minimum ?? "…"} to ${schema.maximum ?? "…"}`);
  }
  if ("default" in schema) parts.push(`default ${JSON.stringify(schema.default)}`);
  return parts.join(", ") || "any";
}

function fieldsTable(document: OpenApiDocument, schema: JsonSchema | Ref): string {
  const rows = fieldRows(resolve(document, schema));
  if (rows.length === 0) return "";
  return `<div class="scroll"><table><thead><tr><th>Field</th><th>Type</th><th>Required</th><th>Description</th></tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
}

function mediaBlock(
  document: OpenApiDocument,
  type: string,
  media: MediaTypeObject,
  detailed: boolean,
): string {
  const examples = Object.values(media.examples ?? {}).map((example) =>
    detailed
      ? `<h4>Example: ${escapeHtml(example.summary)}</h4>${example.description ? `<p>${escapeHtml(example.description)}</p>` : ""}${pretty(example.value)}`
      : `<li>${escapeHtml(example.summary)}: ${code(JSON.stringify(example.value))}</li>`,
  );
  return `<p>Content type ${code(type)}</p>${detailed ? fieldsTable(document, media.schema) : ""}${schemaBlock(document, media.schema, "JSON Schema")}${
    detailed
      ? examples.join("\n")
      : examples.length > 0
        ? `<p>Examples:</p><ul>${examples.join("")}</ul>`
        : ""
  }`;
}

function parametersTable(document: OpenApiDocument, parameters: (ParameterObject | Ref)[]) {
  if (parameters.length === 0) return "<p>None.</p>";
  const rows = parameters.map((entry) => {
    const parameter = resolve(document, entry);
    return `<tr><td>${code(parameter.name)}</td><td data-label="In">${escapeHtml(parameter.in)}</td><td data-label="Required">${parameter.required ? "yes" : "no"}</td><td>${escapeHtml(parameter.description)}<br>${code(typeOf(parameter.schema))}</td></tr>`;
  });
  return `<div class="scroll"><table><thead><tr><th>Name</th><th>In</th><th>Required</th><th>Description</th></tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
}

function responseBlock(document: OpenApiDocument, status: string, response: ResponseObject) {
  // Shared headers are described once, at the top of the page; only their names are listed.
  const headerItems = Object.entries(response.headers ?? {}).map(([name, entry]) =>
    isRef(entry) ? code(name) : `${code(name)} (${escapeHtml(entry.description)})`,
  );
  // Successes in full; failures share one envelope, so only their examples are listed.
  const content = Object.entries(response.content ?? {}).map(([type, media]) =>
    mediaBlock(document, type, media, Number(status) < 400),
  );
  return `<h4>${escapeHtml(status)}: ${escapeHtml(response.description)}</h4>${
    headerItems.length > 0 ? `<p>Headers: ${headerItems.join(", ")}</p>` : ""
  }${content.join("\n")}`;
}

function operationSection(
  document: OpenApiDocument,
  path: string,
  method: string,
  operation: OperationObject,
): string {
  const body = operation.requestBody;
  return `<section id="${operationAnchor(operation)}">
<h2><span class="method">${escapeHtml(method)}</span>${code(path)}</h2>
<p><strong>${escapeHtml(operation.summary)}</strong></p>
${prose(operation.description)}
<h3>Authentication</h3>
${describeSecurity(document, operation.security)}
<h3>Parameters</h3>
${parametersTable(document, operation.parameters)}
${
  body
    ? `<h3>Request body${body.required ? "" : " (optional)"}</h3>${prose(body.description)}${Object.entries(
        body.content,
      )
        .map(([type, media]) => mediaBlock(document, type, media, true))
        .join("\n")}`
    : ""
}
<h3>Responses</h3>
${Object.entries(operation.responses)
  .map(([status, response]) => responseBlock(document, status, response))
  .join("\n")}
</section>`;
}

/** The whole page, made from the document alone; every text in it is escaped. */
export function renderDocsPage(document: OpenApiDocument): string {
  const operations = operationsOf(document);
  const servers = (document.servers ?? []).map((server) => code(server.url)).join(", ");
  const toc = operations
    .map(
      ({ path, method, operation }) =>
        `<li><a href="#${operationAnchor(operation)}"><span class="method">${escapeHtml(method)}</span>${code(path)}</a>: ${escapeHtml(operation.summary)}</li>`,
    )
    .join("\n");
  const responseHeaders = Object.entries(document.components.headers)
    .map(([name, header]) => `<li>${code(name)}: ${escapeHtml(header.description)}</li>`)
    .join("\n");
  const schemes = Object.entries(document.components.securitySchemes)
    .map(([name, scheme]) => `<li>${code(name)}: ${escapeHtml(scheme.description)}</li>`)
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(document.info.title)} API ${escapeHtml(document.info.version)}</title>
<style>${DOCS_STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(document.info.title)} API <small>${escapeHtml(document.info.version)}</small></h1>
<p><strong>${escapeHtml(document.info.summary)}</strong></p>
${prose(document.info.description)}
<p>Server: ${servers}. OpenAPI ${escapeHtml(document.openapi)} document: <a href="/openapi.json">/openapi.json</a>.</p>
<h2>Operations</h2>
<ul>
${toc}
</ul>
<h2>Credentials</h2>
<ul>
${schemes}
</ul>
<h2>Response headers</h2>
<ul>
${responseHeaders}
</ul>
${operations.map(({ path, method, operation }) => operationSection(document, path, method, operation)).join("\n")}
</main>
</body>
</html>
`;
}

/** The strict CSP of the /docs page. */
export function docsContentSecurityPolicy(): Promise<string> {
  return strictStylePolicy(DOCS_STYLE);
}
