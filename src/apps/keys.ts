import type { KeyType } from "./records.ts";

/**
 * API keys look like `cko_write_<43 base64url chars>`: a recognisable prefix for secret
 * scanners, the type for humans, and 256 bits from the platform's CSPRNG.
 */
export const API_KEY_PATTERN = /^cko_(read|write)_[A-Za-z0-9_-]{43}$/;

export function base64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function randomToken(byteLength: number): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(byteLength)));
}

export function generateApiKey(type: KeyType): string {
  return `cko_${type}_${randomToken(32)}`;
}

export function generateKeyId(): string {
  return `key_${randomToken(12)}`;
}

const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
const utf8 = new TextEncoder();

/** SHA-256 of the text, lowercase hex. Used for API keys and `state`: never stored in clear. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(text)));
  // A table and one string: about half the cost of Array.from + padStart + join (bench/).
  let hex = "";
  for (const byte of digest) hex += HEX_BYTES[byte];
  return hex;
}
