import { toBase64 } from "../crypto.ts";
import { signingKeyBytes } from "./secrets.ts";

/**
 * Standard Webhooks signatures (standardwebhooks.com): an HMAC-SHA256, keyed with the secret's
 * bytes, of `<webhook-id>.<webhook-timestamp>.<body>`, written `v1,<base64>`; one per secret,
 * space separated, so that a receiver with either secret accepts it during a rotation.
 */

const utf8 = new TextEncoder();

export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

export async function signEvent(
  secrets: readonly string[],
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<SignedHeaders> {
  const content = utf8.encode(`${id}.${timestampSeconds}.${body}`);
  const signatures = await Promise.all(
    secrets.map(async (secret) => {
      const key = await crypto.subtle.importKey(
        "raw",
        signingKeyBytes(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, content));
      return `v1,${toBase64(mac)}`;
    }),
  );
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": signatures.join(" "),
  };
}
