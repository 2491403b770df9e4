import { base64url } from "jose";

/** Random bytes from the platform's CSPRNG, base64url without padding. */
export function randomToken(byteLength: number): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(byteLength)));
}

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** `length` letters and digits from the CSPRNG, uniformly (bytes past 247 are drawn again). */
export function randomAlphanumeric(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length))) {
      if (byte < 248 && out.length < length) out += ALPHANUMERIC[byte % 62];
    }
  }
  return out;
}

const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
const utf8 = new TextEncoder();

/** SHA-256 of the text, lowercase hex: how keys, states and fingerprints are stored and compared. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(text)));
  // A table and one string: about half the cost of Array.from + padStart + join (bench/).
  let hex = "";
  for (const byte of digest) hex += HEX_BYTES[byte];
  return hex;
}

/** workerd's SubtleCrypto has a constant-time compare (Node's types do not know it; the CLI never calls it). */
const workerdSubtle = crypto.subtle as SubtleCrypto & {
  timingSafeEqual(a: ArrayBufferView, b: ArrayBufferView): boolean;
};

/**
 * Whether two texts are equal, in time that depends only on their lengths. Texts of unequal
 * length are compared against themselves, so both outcomes do the same work.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = utf8.encode(a);
  const right = utf8.encode(b);
  const sameLength = left.byteLength === right.byteLength;
  const equal = workerdSubtle.timingSafeEqual(left, sameLength ? right : left);
  return sameLength && equal;
}

/** Standard base64 of bytes (btoa over their binary string). */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
