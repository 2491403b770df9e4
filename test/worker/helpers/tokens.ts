import { env } from "cloudflare:workers";
import {
  base64url,
  type CryptoKey,
  exportSPKI,
  generateKeyPair,
  type JWTPayload,
  SignJWT,
} from "jose";
import { type AppRecord, kvKeys } from "../../../src/apps/records.ts";
import { givenApp } from "./apps.ts";

const ISSUER = "https://auth.example.test";

export interface KeyPair {
  privateKey: CryptoKey;
  publicPem: string;
}

export async function newKeyPair(): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", {
    modulusLength: 2048,
    extractable: true,
  });
  return { privateKey, publicPem: await exportSPKI(publicKey) };
}

/** An app that accepts tokens signed by `keys`, with its browser origins indexed as the CLI does. */
export async function givenTokenApp(
  keys: KeyPair,
  overrides: Partial<AppRecord> = {},
): Promise<AppRecord> {
  const app = await givenApp({ tokenIssuer: ISSUER, publicKey: keys.publicPem, ...overrides });
  for (const origin of app.allowedOrigins) {
    const existing =
      ((await env.APPS.get(kvKeys.corsOrigin(origin), "json")) as string[] | null) ?? [];
    await env.APPS.put(kvKeys.corsOrigin(origin), JSON.stringify([...existing, app.id]));
  }
  return app;
}

/** Signs an RS256 token for the app: valid for five minutes unless claims say otherwise. */
export function signToken(
  keys: KeyPair,
  app: AppRecord,
  claims: JWTPayload & { tenantId?: unknown } = {},
  header: { alg?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: ISSUER,
    aud: app.id,
    iat: now,
    exp: now + 300,
    sub: "user-1",
    ...claims,
  })
    .setProtectedHeader({ alg: header.alg ?? "RS256", typ: "JWT" })
    .sign(keys.privateKey);
}

export function base64UrlJson(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}
