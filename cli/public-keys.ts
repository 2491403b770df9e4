import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { UsageError } from "./errors.ts";

/** Largest PEM file read: an RSA public key of 16384 bits is under 3 KB. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

/** The modulus size below which a key is refused. */
const MIN_RSA_BITS = 2048;

/**
 * Checks that `text` is one RSA public key of at least 2048 bits in PEM, SPKI form
 * (`-----BEGIN PUBLIC KEY-----`) and returns it normalised (Node's own SPKI PEM export).
 * `what` names the source in errors.
 */
export function parsePublicKeyPem(text: string, what = "--public-key-file"): string {
  if (text.includes("PRIVATE KEY")) {
    throw new UsageError(
      `${what}: this is a private key. Never hand the service a private key: whoever holds ` +
        "it can sign tokens for the app, and it belongs only with the token issuer. Give the " +
        "service the public half: `openssl pkey -in private.pem -pubout -out public.pem`.",
    );
  }
  if (text.includes("BEGIN RSA PUBLIC KEY")) {
    throw new UsageError(
      `${what}: this is an RSA public key in PKCS#1 form (BEGIN RSA PUBLIC KEY); the service ` +
        "takes SPKI (BEGIN PUBLIC KEY). Convert it with " +
        "`openssl rsa -pubin -in k.pem -RSAPublicKey_in -pubout -out public.pem`.",
    );
  }
  if (text.includes("BEGIN CERTIFICATE")) {
    throw new UsageError(
      `${what}: this is a certificate, not a public key. Extract its key with ` +
        "`openssl x509 -in cert.pem -pubkey -noout > public.pem`.",
    );
  }
  if (/^\s*ssh-rsa\s/.test(text)) {
    throw new UsageError(
      `${what}: this is an OpenSSH public key; the service takes PEM (SPKI). Convert it with ` +
        "`ssh-keygen -e -m PKCS8 -f key.pub > public.pem`.",
    );
  }
  const begins = text.match(/-----BEGIN [^-]*-----/g) ?? [];
  if (begins.length === 0 || !text.includes("-----BEGIN PUBLIC KEY-----")) {
    throw new UsageError(
      `${what}: not a PEM public key; expected one block starting with -----BEGIN PUBLIC KEY-----`,
    );
  }
  if (begins.length > 1) {
    throw new UsageError(`${what}: holds ${begins.length} PEM blocks; give exactly one public key`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: "pem" });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${what}: not a readable PEM public key (${reason})`);
  }
  if (key.asymmetricKeyType !== "rsa") {
    throw new UsageError(
      `${what}: must be an RSA key (tokens are RS256), not ${key.asymmetricKeyType ?? "unknown"}`,
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    throw new UsageError(`${what}: the RSA key has ${bits} bits; at least ${MIN_RSA_BITS} needed`);
  }
  return String(key.export({ type: "spki", format: "pem" }));
}

/** `RSA 2048 bits, sha256 0123456789abcdef`: enough to tell keys apart, never the key. */
export function publicKeyFingerprint(pem: string): string {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch {
    return "(stored, but not a readable public key)";
  }
  const der = key.export({ type: "spki", format: "der" });
  const digest = createHash("sha256").update(der).digest("hex").slice(0, 16);
  const type = (key.asymmetricKeyType ?? "unknown").toUpperCase();
  const bits = key.asymmetricKeyDetails?.modulusLength;
  return `${type}${bits ? ` ${bits} bits` : ""}, sha256 ${digest}`;
}

export async function readPublicKeyFile(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`--public-key-file: cannot read ${file} (${reason})`);
  }
  if (bytes.length > MAX_KEY_FILE_BYTES) {
    throw new UsageError(`--public-key-file: ${file} is too large for a public key`);
  }
  return parsePublicKeyPem(bytes.toString("utf8"));
}
