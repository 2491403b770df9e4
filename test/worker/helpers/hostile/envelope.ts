import { expect } from "vitest";

const ENVELOPE_KEYS = ["data", "error", "message", "success"];
export const LONE_SURROGATE =
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text safe to put in an assertion message: lone surrogates written as escapes. (Vitest sends
 * messages from workerd over a WebSocket, which refuses them as invalid UTF-8 and loses the
 * failure.)
 */
export function printable(text: string): string {
  return text.replace(
    new RegExp(LONE_SURROGATE.source, "g"),
    (c) => `\\u${c.charCodeAt(0).toString(16)}`,
  );
}

export function expectEnvelope(
  text: string,
  status: number,
  context: string,
): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(
      `response (${status}) is not JSON: ${printable(text.slice(0, 200))}\n${context}`,
    );
  }
  expect(body !== null && typeof body === "object" && !Array.isArray(body), context).toBe(true);
  const envelope = body as Record<string, unknown>;
  expect(Object.keys(envelope).sort(), context).toEqual(ENVELOPE_KEYS);
  if (status === 200) {
    expect(envelope.success, context).toBe(true);
    expect(envelope.error, context).toBeNull();
    expect(typeof envelope.message === "string" && envelope.message.length > 0, context).toBe(true);
    expect(typeof envelope.data === "object" && envelope.data !== null, context).toBe(true);
  } else {
    expect(envelope.success, context).toBe(false);
    expect(envelope.message, context).toBeNull();
    expect(envelope.data, context).toBeNull();
    expect(typeof envelope.error === "string" && envelope.error.length > 0, context).toBe(true);
    // Never a stack trace, SQL, or an internal name.
    expect(String(envelope.error), context).not.toMatch(
      /\n\s+at |SQLITE|D1_|TypeError|SyntaxError/,
    );
  }
  // Whole characters only: no half of a surrogate pair (but for the known bug of the 404
  // text, see hostile-input.test.ts).
  if (typeof envelope.error === "string" && !envelope.error.startsWith("No route for ")) {
    const error = envelope.error;
    expect(LONE_SURROGATE.test(error), `${printable(error)}\n${context}`).toBe(false);
  }
  return envelope;
}
