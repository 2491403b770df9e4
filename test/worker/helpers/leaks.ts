import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { sha256Hex } from "../../../src/crypto.ts";
import { newState } from "./apps.ts";

/**
 * The secrets the no-secrets tests watch for, and the detector that finds them (or any
 * 12-character slice of their secret part) in a text.
 */

const SLICE = 12;

interface Secret {
  label: string;
  value: string;
  /** Slices of SLICE characters of value.slice(prefixLength) must not appear either. */
  prefixLength: number | null;
}

const secrets: Secret[] = [];

/** Registers a secret; with `prefix`, every 12-character slice after it counts as the secret. */
export function secret(label: string, value: string, prefix?: string | number): string {
  const prefixLength =
    prefix === undefined ? null : typeof prefix === "number" ? prefix : prefix.length;
  if (typeof prefix === "string") expect(value.startsWith(prefix), label).toBe(true);
  secrets.push({ label, value, prefixLength });
  return value;
}

/**
 * What is stored instead of a key or state: not a secret itself, but never shown either (the
 * read route leaves the state digest out; nothing answers with a key digest).
 */
async function digestOf(label: string, value: string): Promise<void> {
  secrets.push({ label: `SHA-256 of ${label}`, value: await sha256Hex(value), prefixLength: null });
}

/** A key like cko_write_…: everything after the type is secret. */
export async function apiKey(label: string, value: string): Promise<string> {
  await digestOf(label, value);
  return secret(label, value, /^cko_(read|write)_/.exec(value)?.[0] ?? "");
}

/** A state: all of it is secret, and its digest is never shown. */
export async function secretState(label = "state"): Promise<string> {
  const value = newState();
  await digestOf(label, value);
  return secret(label, value, 0);
}

/** A JWT: its header is public (the same for every RS256 token), its claims and signature not. */
export function token(label: string, value: string): string {
  return secret(label, value, value.indexOf(".") + 1);
}

// The service's own secrets, as the worker sees them.
for (const name of ["STRIPE_SECRET_KEY_TEST", "STRIPE_SECRET_KEY_LIVE"] as const) {
  const value = env[name];
  if (value) secret(name, value, /^(sk|rk)_(test|live)_/.exec(value)?.[0] ?? "");
}
for (const name of [
  "STRIPE_WEBHOOK_SECRET_TEST",
  "STRIPE_WEBHOOK_SECRET_LIVE",
  "STRIPE_CONNECT_WEBHOOK_SECRET_TEST",
  "STRIPE_CONNECT_WEBHOOK_SECRET_LIVE",
] as const) {
  const value = env[name];
  if (value) secret(name, value, "whsec_");
}
if (env.WEBHOOK_ENCRYPTION_KEY) secret("WEBHOOK_ENCRYPTION_KEY", env.WEBHOOK_ENCRYPTION_KEY, 0);

export interface Finding {
  secret: string;
  where: string;
  match: string;
}

export function findLeaks(where: string, text: string): Finding[] {
  const findings: Finding[] = [];
  for (const s of secrets) {
    if (text.includes(s.value)) {
      findings.push({ secret: s.label, where, match: s.value });
      continue;
    }
    if (s.prefixLength === null) continue;
    const rest = s.value.slice(s.prefixLength);
    for (let i = 0; i + SLICE <= rest.length; i++) {
      const slice = rest.slice(i, i + SLICE);
      if (text.includes(slice)) {
        findings.push({ secret: s.label, where, match: slice });
        break;
      }
    }
  }
  return findings;
}
