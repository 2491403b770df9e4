import { toBase64 } from "../crypto.ts";

/**
 * The strict Content-Security-Policy of the payment page's answers (/docs has its own): nothing
 * but the page's one inline style, allowed by its hash; no scripts, images, fonts, frames or
 * forms. Cached per style as a value, not as a promise: a promise shared between requests
 * would be settled in another request's context, which workerd warns about. Bounded: one entry
 * per style constant in the code.
 */
const policies = new Map<string, string>();

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return toBase64(new Uint8Array(digest));
}

export async function strictStylePolicy(style: string): Promise<string> {
  const cached = policies.get(style);
  if (cached) return cached;
  const policy = [
    "default-src 'none'",
    `style-src 'sha256-${await sha256Base64(style)}'`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  policies.set(style, policy);
  return policy;
}
