import { decodeJwt, importSPKI, errors as joseErrors, jwtVerify } from "jose";
import * as z from "zod";
import type { AppRecord } from "../apps/records.ts";
import { findApp } from "../apps/store.ts";
import { nowSeconds } from "../clock.ts";
import { ApiError } from "../errors.ts";
import { MESSAGES, TOKEN_REASONS } from "../messages.ts";

/** Seconds of clock difference tolerated between the token's issuer and us. */
const CLOCK_SKEW_SECONDS = 30;

/** The claim that names the tenant a token acts for. */
const TENANT_CLAIM = "tenantId";

export interface VerifiedToken {
  app: AppRecord;
  tenantId: string | null;
  /** The token's `sub`, if it has one: whom the app signed in. */
  subject: string | null;
}

/** A UUID in its one canonical form (lower case), so `…-ABCD-…` and `…-abcd-…` are one id. */
const uuid = z.uuid().transform((value) => value.toLowerCase());

function invalid(reason: string): ApiError {
  return new ApiError("unauthorized", MESSAGES.tokenInvalid(reason));
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
function bearerToken(header: string): string {
  const match = /^([A-Za-z]+) +([A-Za-z0-9_\-.=]+)$/.exec(header.trim());
  const scheme = match?.[1]?.toLowerCase();
  const token = match?.[2];
  if (scheme !== "bearer" || !token) {
    throw new ApiError("unauthorized", MESSAGES.bearerMalformed);
  }
  return token;
}

/** The app a token is for: X-CLIENT-ID when sent, else the token's single audience. */
function claimedAppId(token: string, clientIdHeader: string | null): string {
  if (clientIdHeader !== null) {
    const clientId = uuid.safeParse(clientIdHeader);
    if (!clientId.success) throw new ApiError("unauthorized", MESSAGES.clientId);
    return clientId.data;
  }
  let aud: unknown;
  try {
    aud = decodeJwt(token).aud;
  } catch {
    throw invalid(TOKEN_REASONS.malformed);
  }
  const single = singleAudience(aud);
  const appId = uuid.safeParse(single);
  if (!appId.success) throw invalid(TOKEN_REASONS.audienceNotUuid);
  return appId.data;
}

/** A token is for exactly one app: `aud` is one string, or an array of exactly one. */
function singleAudience(aud: unknown): unknown {
  return Array.isArray(aud) && aud.length === 1 ? aud[0] : aud;
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
  if (!app) throw invalid(TOKEN_REASONS.unknownApp);
  if (!app.publicKey || !app.tokenIssuer) throw invalid(TOKEN_REASONS.noTokens);

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
  // One rule with and without X-CLIENT-ID: jose accepts an array that merely includes the app.
  if (typeof singleAudience(payload.aud) !== "string") {
    throw invalid(TOKEN_REASONS.audienceNotSingle);
  }
  const iat = payload.iat;
  if (typeof iat === "number" && iat > nowSeconds() + CLOCK_SKEW_SECONDS)
    throw invalid(TOKEN_REASONS.issuedInFuture);

  const tenant = payload[TENANT_CLAIM];
  const tenantId = tenant === undefined ? null : uuid.safeParse(tenant);
  if (tenantId !== null && !tenantId.success) {
    throw invalid(TOKEN_REASONS.tenantNotUuid(TENANT_CLAIM));
  }
  if (app.status !== "active") throw new ApiError("forbidden", MESSAGES.appDisabled);
  const subject = typeof payload.sub === "string" && payload.sub !== "" ? payload.sub : null;
  return { app, tenantId: tenantId?.data ?? null, subject };
}

/** Says which check failed, in words that help the token's issuer and reveal no key material. */
function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return TOKEN_REASONS.expired;
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case "aud":
        return TOKEN_REASONS.audience;
      case "iss":
        return TOKEN_REASONS.issuer;
      case "nbf":
        return TOKEN_REASONS.notYetValid;
      case "exp":
        return TOKEN_REASONS.noExpiry;
      default:
        return TOKEN_REASONS.claim(err.claim);
    }
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return TOKEN_REASONS.algorithm;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return TOKEN_REASONS.signature;
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid)
    return TOKEN_REASONS.malformed;
  return TOKEN_REASONS.unverified;
}
