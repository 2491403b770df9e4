import { decodeJwt, importSPKI, errors as joseErrors, jwtVerify } from "jose";
import * as z from "zod";
import type { AppRecord } from "../apps/records.ts";
import { findApp } from "../apps/store.ts";
import { ApiError } from "../errors.ts";

/** Seconds of clock difference tolerated between the token's issuer and us. */
export const CLOCK_SKEW_SECONDS = 30;

/** The claim that names the tenant a token acts for. */
export const TENANT_CLAIM = "tenantId";

export interface VerifiedToken {
  app: AppRecord;
  tenantId: string | null;
}

const uuid = z.uuid();

function invalid(reason: string): ApiError {
  return new ApiError("unauthorized", `Access token is not valid: ${reason}`);
}

/**
 * Imported public keys, by their PEM text. Importing costs more than verifying; the PEM is the
 * key, so a changed app key is simply another entry. Bounded: one entry per app key in use.
 */
const importedKeys = new Map<string, Promise<CryptoKey>>();
const MAX_IMPORTED_KEYS = 256;

function publicKey(pem: string): Promise<CryptoKey> {
  let key = importedKeys.get(pem);
  if (!key) {
    if (importedKeys.size >= MAX_IMPORTED_KEYS) importedKeys.clear();
    key = importSPKI(pem, "RS256");
    importedKeys.set(pem, key);
    key.catch(() => importedKeys.delete(pem));
  }
  return key;
}

/** `Authorization: <type> <token>`, the type matched case-insensitively. */
export function bearerToken(header: string): string {
  const match = /^([A-Za-z]+) +([A-Za-z0-9_\-.=]+)$/.exec(header.trim());
  const scheme = match?.[1]?.toLowerCase();
  const token = match?.[2];
  if (scheme !== "bearer" || !token) {
    throw new ApiError("unauthorized", "Authorization must be 'Bearer <access token>'");
  }
  return token;
}

/** The app a token is for: X-CLIENT-ID when sent, else the token's single audience. */
function claimedAppId(token: string, clientIdHeader: string | null): string {
  if (clientIdHeader !== null) {
    if (!uuid.safeParse(clientIdHeader).success)
      throw new ApiError("unauthorized", "X-CLIENT-ID must be the app's UUID");
    return clientIdHeader;
  }
  let aud: unknown;
  try {
    aud = decodeJwt(token).aud;
  } catch {
    throw invalid("it is not a well-formed JWT");
  }
  const single = Array.isArray(aud) && aud.length === 1 ? aud[0] : aud;
  if (typeof single !== "string" || !uuid.safeParse(single).success) {
    throw invalid("its audience (aud) must be the app's UUID");
  }
  return single;
}

/**
 * Verifies an RS256 access token against the public key and issuer in the app's KV record:
 * signature, exp (required), nbf and iat when present (with a small skew), aud = app id,
 * iss = the app's issuer. Only RS256 is accepted: `none`, HS* (including HS256 signed with the
 * public key as secret) and every other algorithm are refused before any key is used.
 */
export async function verifyAccessToken(kv: KVNamespace, headers: Headers): Promise<VerifiedToken> {
  const token = bearerToken(headers.get("Authorization") ?? "");
  const appId = claimedAppId(token, headers.get("X-CLIENT-ID"));

  const app = await findApp(kv, appId);
  if (!app) throw invalid("it was not issued for a known app");
  if (!app.publicKey || !app.tokenIssuer) throw invalid("this app does not accept access tokens");

  let payload: Record<string, unknown>;
  try {
    const verified = await jwtVerify(token, await publicKey(app.publicKey), {
      algorithms: ["RS256"],
      audience: app.id,
      issuer: app.tokenIssuer,
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ["exp"],
    });
    payload = verified.payload;
  } catch (err) {
    throw invalid(describeJoseError(err));
  }
  const iat = payload.iat;
  if (typeof iat === "number" && iat > Date.now() / 1000 + CLOCK_SKEW_SECONDS)
    throw invalid("it was issued in the future (iat)");

  const tenant = payload[TENANT_CLAIM];
  if (tenant !== undefined && (typeof tenant !== "string" || !uuid.safeParse(tenant).success)) {
    throw invalid(`its ${TENANT_CLAIM} claim must be a UUID`);
  }
  if (app.status !== "active") throw new ApiError("forbidden", "This app is disabled");
  return { app, tenantId: typeof tenant === "string" ? tenant : null };
}

/** Says which check failed, in words that help the token's issuer and reveal no key material. */
function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return "it has expired (exp)";
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case "aud":
        return "its audience (aud) is not this app (X-CLIENT-ID)";
      case "iss":
        return "its issuer (iss) is not the app's issuer";
      case "nbf":
        return "it is not valid yet (nbf)";
      case "exp":
        return "it has no expiry (exp)";
      default:
        return `its ${err.claim} claim is invalid`;
    }
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return "only RS256 tokens are accepted";
  if (err instanceof joseErrors.JWSSignatureVerificationFailed)
    return "its signature does not verify";
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid)
    return "it is not a well-formed JWT";
  return "it could not be verified";
}
