import type { SignedHeaders } from "./signing.ts";

/**
 * One POST of an event to an endpoint: a 2xx within the timeout is success, anything else a
 * failure that says why. Redirects are never followed (an endpoint could point one at an
 * internal address). Of the answer's body at most 1 KiB is read and 256 characters kept.
 */

const EXCERPT_BYTES = 1024;
const EXCERPT_CHARS = 256;

export interface PostOutcome {
  statusCode: number | null;
  /** null: delivered. */
  error: string | null;
  responseExcerpt: string | null;
}

async function excerpt(response: Response): Promise<string | null> {
  const reader = response.body?.getReader();
  if (!reader) return null;
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  // Printable text only: a receiver's answer is shown in the delivery log.
  const text = new TextDecoder()
    .decode(bytes.slice(0, EXCERPT_BYTES))
    .replace(/\p{Cc}+/gu, " ")
    .trim();
  return text === "" ? null : Array.from(text).slice(0, EXCERPT_CHARS).join("");
}

export async function post(
  url: URL,
  signed: SignedHeaders,
  body: string,
  timeoutMs: number,
): Promise<PostOutcome> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {
        ...signed,
        "Content-Type": "application/json",
        "User-Agent": "checkout-edge-webhooks/1",
      },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const timedOut =
      err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    return {
      statusCode: null,
      error: timedOut
        ? `no answer within ${timeoutMs} ms`
        : `could not connect (${err instanceof Error ? err.name : "error"})`,
      responseExcerpt: null,
    };
  }
  const text = await excerpt(response).catch(() => null);
  const status = response.status;
  if (status >= 200 && status < 300)
    return { statusCode: status, error: null, responseExcerpt: text };
  const error =
    status >= 300 && status < 400
      ? `answered ${status}, a redirect, which is not followed`
      : `answered ${status}`;
  return { statusCode: status, error, responseExcerpt: text };
}
