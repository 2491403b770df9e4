import * as z from "zod";

/**
 * The shapes of what lives in the APPS KV namespace. The worker and the operator's CLI both
 * parse with these schemas, so a record that one writes the other can read.
 *
 * KV layout:
 *   app:<appId>              AppRecord (JSON)
 *   apikey:<sha256 hex>      KeyRecord (JSON), found by the digest of the key a caller sends
 *   appkey:<appId>:<keyId>   the key's digest, so an app's keys can be listed
 *   keyid:<keyId>            the key's digest, so a key can be revoked by its id alone
 *   corsorigin:<origin>      JSON array of the ids of apps that allow this browser origin, so
 *                            a CORS preflight (which carries no credentials) can be answered
 */
export const kvKeys = {
  app: (appId: string) => `app:${appId}`,
  apiKey: (digest: string) => `apikey:${digest}`,
  appKey: (appId: string, keyId: string) => `appkey:${appId}:${keyId}`,
  appKeyPrefix: (appId: string) => `appkey:${appId}:`,
  keyById: (keyId: string) => `keyid:${keyId}`,
  corsOrigin: (origin: string) => `corsorigin:${origin}`,
} as const;

export const stripeAccountId = z
  .string()
  .regex(/^acct_[A-Za-z0-9]{1,64}$/, "must be a Stripe account id (acct_…)");

/** https anywhere; plain http only for loopback hosts, for local development. */
export const returnUrl = z.url({ protocol: /^https?$/ }).refine((value) => {
  // Refinements run even when the URL check failed, so guard the parse.
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return url.protocol === "https:" || ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
}, "must be an https URL (http only for localhost)");

export const appRecordSchema = z.object({
  id: z.uuid(),
  name: z.string().min(1).max(200),
  status: z.enum(["active", "disabled"]),
  liveEnabled: z.boolean(),
  stripeAccountTest: stripeAccountId.nullable(),
  stripeAccountLive: stripeAccountId.nullable(),
  successUrl: returnUrl.nullable(),
  cancelUrl: returnUrl.nullable(),
  /** Where Stripe's customer portal sends the person back to; without one, no portal. */
  portalReturnUrl: returnUrl.nullable().default(null),
  tokenIssuer: z.string().min(1).nullable().default(null),
  publicKey: z.string().min(1).nullable().default(null),
  allowedOrigins: z.array(z.string()).default([]),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export type AppRecord = z.output<typeof appRecordSchema>;

export const keyTypeSchema = z.enum(["read", "write"]);
export type KeyType = z.output<typeof keyTypeSchema>;

export const keyRecordSchema = z.object({
  id: z.string().regex(/^key_[A-Za-z0-9_-]{16,}$/),
  appId: z.uuid(),
  type: keyTypeSchema,
  label: z.string().max(200).nullable(),
  createdAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().nullable(),
});

export type KeyRecord = z.output<typeof keyRecordSchema>;
