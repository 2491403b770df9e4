import type { Context, MiddlewareHandler } from "hono";
import { sha256Hex } from "../crypto.ts";
import type { AuthenticatedEnv, HonoEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";

/** The window of the Cloudflare rate limiting bindings (wrangler.toml, `period`), in seconds. */
const PERIOD_SECONDS = 60;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The first 64 bits of an IPv6 address, as `a:b:c:d::/64`; null if it is not one. */
function ipv6Prefix64(address: string): string | null {
  const host = `http://[${address}]/`;
  if (!URL.canParse(host)) return null;
  // URL writes the address in its one compressed, lower-case form.
  const canonical = new URL(host).hostname.slice(1, -1);
  const [head = "", tail] = canonical.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return `${groups.slice(0, 4).join(":")}::/64`;
}

/**
 * The caller's address as Cloudflare reports it, as a rate-limit bucket: an IPv4 address as
 * it is, an IPv6 address by its /64 (one subscriber's network: one host can use a whole /64).
 * Locally there is none; a value that is no address (only possible off Cloudflare) is one
 * bucket of its own, never a key made of the header.
 */
function clientAddress<E extends HonoEnv>(c: Context<E>): string {
  const header = c.req.header("CF-Connecting-IP");
  if (header === undefined) return "unknown";
  if (IPV4.test(header)) return header;
  return (header.includes(":") ? ipv6Prefix64(header) : null) ?? "invalid";
}

function rateLimited(what: string): ApiError {
  return new ApiError("rate_limited", MESSAGES.rateLimited(what, PERIOD_SECONDS), {
    headers: { "Retry-After": String(PERIOD_SECONDS) },
  });
}

/**
 * What a route's limits count: creates of checkout sessions, or portal sessions. Both use the
 * create limits' bindings (the same numbers), each in buckets of its own, so opening portals
 * never uses up an app's checkouts, nor the reverse (docs/decisions.md, "Rate limits").
 */
interface Counted {
  /** Put before each bucket's key; the creates' buckets have none, as before the portal's. */
  bucket: string;
  /** The plural of "Too many … for this credential". */
  what: string;
}

const CREATES: Counted = { bucket: "", what: "checkout sessions" };
const PORTALS: Counted = { bucket: "portal:", what: "portal sessions" };

/** Calls per client address, counted before credentials are even looked at. */
function limitPerAddress(counted: Counted): MiddlewareHandler<HonoEnv> {
  return async function limitPerAddress(c, next) {
    const key = `${counted.bucket}${clientAddress(c)}`;
    const { success } = await c.env.CREATE_LIMIT_PER_ADDRESS.limit({ key });
    if (!success) throw rateLimited(`${counted.what} from this address`);
    await next();
  };
}

/** Calls per credential: per API key, or per app, tenant and user for access tokens. */
function limitPerCredential(counted: Counted): MiddlewareHandler<AuthenticatedEnv> {
  return async function limitPerCredential(c, next) {
    const credential = c.get("credential");
    const app = c.get("app");
    // A token's bucket is its app, tenant and subject: one signed-in user cannot use up another's.
    const key =
      credential.kind === "api_key"
        ? `key:${credential.keyId}`
        : `token:${app.id}:${credential.tenantId ?? "-"}:${credential.subject === null ? "-" : await sha256Hex(credential.subject)}`;
    const { success } = await c.env.CREATE_LIMIT_PER_CREDENTIAL.limit({
      key: `${counted.bucket}${key}`,
    });
    if (!success) throw rateLimited(`${counted.what} for this credential`);
    await next();
  };
}

export const limitCreatesPerAddress = limitPerAddress(CREATES);
export const limitCreatesPerCredential = limitPerCredential(CREATES);
export const limitPortalsPerAddress = limitPerAddress(PORTALS);
export const limitPortalsPerCredential = limitPerCredential(PORTALS);

/**
 * Addresses whose failed credentials passed the limit, until when (ms). Lets this isolate refuse
 * them before doing any verification work; the count itself lives in the binding, shared by all
 * isolates. Bounded: cleared when full (the binding still counts).
 */
const blockedAddresses = new Map<string, number>();
const MAX_BLOCKED = 10_000;

function isBlockedForFailures(address: string, now = Date.now()): boolean {
  const until = blockedAddresses.get(address);
  if (until === undefined) return false;
  if (until > now) return true;
  blockedAddresses.delete(address);
  return false;
}

/** Counts a failed credential check; when the address is over its limit, answers 429 instead. */
export async function noteFailedCredentials<E extends HonoEnv>(
  c: Context<E>,
  failure: ApiError,
): Promise<ApiError> {
  const address = clientAddress(c);
  const { success } = await c.env.AUTH_FAILURE_LIMIT_PER_ADDRESS.limit({ key: address });
  if (success) return failure;
  if (blockedAddresses.size >= MAX_BLOCKED) blockedAddresses.clear();
  blockedAddresses.set(address, Date.now() + PERIOD_SECONDS * 1000);
  return rateLimited("failed credential checks from this address");
}

export function refuseBlockedAddress<E extends HonoEnv>(c: Context<E>): void {
  if (isBlockedForFailures(clientAddress(c)))
    throw rateLimited("failed credential checks from this address");
}
