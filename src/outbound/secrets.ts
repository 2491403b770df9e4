import { base64url } from "jose";
import { toBase64 } from "../crypto.ts";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";

/**
 * Endpoint signing secrets: made here (Standard Webhooks' format, `whsec_` and the base64 of 32
 * random bytes), shown once, and kept in D1 only encrypted with AES-256-GCM under the worker
 * secret WEBHOOK_ENCRYPTION_KEY, bound to the endpoint's id (a ciphertext copied to another
 * endpoint does not decrypt). Someone who can read D1 cannot sign events for an app.
 */

const SECRET_BYTES = 32;
const FORMAT = "v1";

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

export function newSigningSecret(): string {
  return `whsec_${toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)))}`;
}

/** The bytes an HMAC is keyed with: the base64 after `whsec_`. */
export function signingKeyBytes(secret: string): Uint8Array {
  return fromBase64(secret.slice("whsec_".length));
}

const keys = new Map<string, Promise<CryptoKey>>();

/** The AES key, from the secret's base64 (32 bytes); a missing or malformed one is named. */
function encryptionKey(configured: string | undefined): Promise<CryptoKey> {
  let raw: Uint8Array<ArrayBuffer>;
  try {
    raw = fromBase64(configured ?? "");
  } catch {
    raw = new Uint8Array();
  }
  if (raw.byteLength !== 32) throw new ApiError("internal", MESSAGES.misconfiguredEncryptionKey);
  const cacheKey = configured as string;
  let key = keys.get(cacheKey);
  if (!key) {
    key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    keys.set(cacheKey, key);
  }
  return key;
}

const utf8 = new TextEncoder();

/**
 * jose's base64url decoding, typed as what it is (a fresh ArrayBuffer's view): its declared
 * `Uint8Array<ArrayBufferLike>` is no BufferSource to Node's DOM types, which the CLI compiles with.
 */
const decode = (text: string) => base64url.decode(text) as Uint8Array<ArrayBuffer>;

export async function encryptSecret(
  configured: string | undefined,
  endpointId: string,
  secret: string,
): Promise<string> {
  const key = await encryptionKey(configured);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: utf8.encode(endpointId) },
    key,
    utf8.encode(secret),
  );
  return `${FORMAT}.${base64url.encode(iv)}.${base64url.encode(new Uint8Array(sealed))}`;
}

export async function decryptSecret(
  configured: string | undefined,
  endpointId: string,
  stored: string,
): Promise<string> {
  const key = await encryptionKey(configured);
  const [format, iv, sealed] = stored.split(".");
  if (format !== FORMAT || !iv || !sealed) {
    throw new ApiError("internal", MESSAGES.encryptionKeyDoesNotOpen);
  }
  try {
    const opened = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: decode(iv), additionalData: utf8.encode(endpointId) },
      key,
      decode(sealed),
    );
    return new TextDecoder().decode(opened);
  } catch (err) {
    throw new ApiError("internal", MESSAGES.encryptionKeyDoesNotOpen, { cause: err });
  }
}
