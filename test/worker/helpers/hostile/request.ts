import type { Body } from "./bodies.ts";
import type { HeaderList } from "./headers.ts";

const ORIGIN = "https://pay.example.test";
export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"] as const;
type Method = (typeof METHODS)[number];

export interface RequestSpec {
  method: Method;
  path: string;
  query?: string;
  headers: HeaderList;
  body?: Body | null;
}

function toBodyInit(body: Body): BodyInit {
  if (typeof body === "string" || body instanceof Uint8Array) return body;
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of body.stream) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

/** The request as fetch would build it, or null if fetch refuses it (e.g. a non-Latin-1 header). */
export function buildRequest(spec: RequestSpec): Request | null {
  // Header values are bytes without NUL, CR or LF. Fetch refuses characters above U+00FF;
  // workerd instead sends any non-ASCII character UTF-8 encoded (with a warning), which is not
  // what a client's raw Latin-1 bytes would be either, so those requests are skipped.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: exactly those characters are meant
  if (spec.headers.some(([, value]) => /[^\u0001-\u0009\u000b\u000c\u000e-\u007f]/.test(value))) {
    return null;
  }
  try {
    const headers = new Headers();
    for (const [name, value] of spec.headers) headers.append(name, value);
    const hasBody = spec.method !== "GET" && spec.method !== "HEAD";
    return new Request(`${ORIGIN}${spec.path}${spec.query ?? ""}`, {
      method: spec.method,
      headers,
      body:
        hasBody && spec.body !== undefined && spec.body !== null
          ? toBodyInit(spec.body)
          : undefined,
      redirect: "manual",
    });
  } catch {
    return null;
  }
}

export function describeRequest(request: Request, spec: RequestSpec): string {
  const headers: string[] = [];
  request.headers.forEach((v, k) => {
    headers.push(`${k}: ${v.length > 120 ? `${v.slice(0, 120)}…(${v.length})` : v}`);
  });
  const body =
    spec.body === undefined || spec.body === null
      ? ""
      : typeof spec.body === "string"
        ? spec.body.length > 300
          ? `${spec.body.slice(0, 300)}…(${spec.body.length})`
          : spec.body
        : spec.body instanceof Uint8Array
          ? `<${spec.body.length} bytes>`
          : `<stream of ${spec.body.stream.map((c) => c.length).join("+")} characters>`;
  const url = request.url.length > 300 ? `${request.url.slice(0, 300)}…` : request.url;
  return `${request.method} ${url}\n${headers.join("\n")}\n\n${body}`;
}
