import * as z from "zod";
import { ApiError } from "./errors.ts";
import { MESSAGES } from "./messages.ts";

/**
 * The service's vars and Stripe secret keys, parsed. Plain TypeScript over a record of strings,
 * so the worker (its bindings) and the operator's CLI (wrangler's platform proxy, or the shell's
 * environment) parse them the same way.
 */

/** The vars and secrets read here, by name; blank counts as unset. */
export type ServiceVars = Partial<
  Record<
    ConfigVar | "STRIPE_SECRET_KEY_TEST" | "STRIPE_SECRET_KEY_LIVE" | "WEBHOOK_ENCRYPTION_KEY",
    string
  >
>;

/** Hosts that never leave the machine: plain http is allowed only to these. */
const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"] as const;

function isLoopbackHost(hostname: string): boolean {
  return (
    (LOOPBACK_HOSTS as readonly string[]).includes(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname)
  );
}

const httpOrigin = z
  .url({ protocol: /^https?$/ })
  .transform((value) => new URL(value))
  .refine(
    (url) => url.pathname === "/" && !url.search && !url.hash,
    "must be an origin without a path",
  );

/** Where secret keys go: https, or plain http to this machine only (a typo never sends a key in clear). */
const stripeOrigin = httpOrigin
  .refine(
    (url) => url.protocol === "https:" || isLoopbackHost(url.hostname),
    "must be https (plain http only for a loopback host)",
  )
  .transform((url) => url.origin);

const intInRange = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .optional()
    .transform((value) => value ?? fallback);

/** SPEC: a delivery is retried after about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h. */
const WEBHOOK_RETRY_SECONDS = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400];

const secondsList = z
  .string()
  .regex(/^\d{1,6}(,\d{1,6}){0,19}$/, "must be up to 20 whole numbers of seconds, comma separated")
  .transform((value) => value.split(",").map(Number))
  .optional()
  .transform((value) => value ?? WEBHOOK_RETRY_SECONDS);

const flag = z
  .enum(["true", "false"])
  .optional()
  .transform((value) => value === "true");

/** Each var and its rule, once; every use below parses the vars it names by these rules. */
const configSchema = z.object({
  PUBLIC_BASE_URL: httpOrigin.transform((url) => url.origin),
  STRIPE_API_BASE_URL: stripeOrigin
    .optional()
    .transform((value) => value ?? "https://api.stripe.com"),
  // Stripe takes 30…1440; 35 leaves a retry of a failed attempt five minutes to be accepted.
  CHECKOUT_EXPIRES_MINUTES: intInRange(35, 1440, 60),
  STRIPE_TIMEOUT_MS: intInRange(100, 60_000, 8_000),
  STRIPE_MAX_NETWORK_RETRIES: intInRange(0, 5, 1),
  RETENTION_DAYS: intInRange(1, 3650, 400),
  EVENT_RETENTION_DAYS: intInRange(4, 365, 30),
  // The reconciliation reads a live subscription again at least this often (and at its period's end).
  BILLING_RESYNC_HOURS: intInRange(1, 720, 24),
  // An endpoint's answer must come within this long (SPEC: 15 s).
  WEBHOOK_TIMEOUT_MS: intInRange(100, 60_000, 15_000),
  WEBHOOK_RETRY_SECONDS: secondsList,
  // Local development only: test-mode endpoints may be http://127.0.0.1:… (npm run dev's receiver).
  WEBHOOK_ALLOW_LOOPBACK: flag,
  // Events, their deliveries and attempts are deleted this many days after the event.
  WEBHOOK_RETENTION_DAYS: intInRange(4, 365, 30),
});

export type Config = z.output<typeof configSchema>;
export type ConfigVar = keyof Config;

/** Every var, in the schema's order: what the JSON API and the queue consumer parse. */
const VAR_NAMES = Object.keys(configSchema.shape) as ConfigVar[];

/** What a Stripe gateway is built from (src/stripe/gateways.ts). */
export const STRIPE_CLIENT_VARS = [
  "STRIPE_API_BASE_URL",
  "STRIPE_TIMEOUT_MS",
  "STRIPE_MAX_NETWORK_RETRIES",
] as const satisfies readonly ConfigVar[];

/**
 * What the Stripe event route uses: the gateway (billing events re-read their objects) and the
 * reconciliation's age. Only these: a var of another feature, malformed, must not make every
 * Stripe event a 500 (Stripe would retry them for days while payments go unrecorded).
 */
export const STRIPE_EVENT_VARS = [
  ...STRIPE_CLIENT_VARS,
  "BILLING_RESYNC_HOURS",
] as const satisfies readonly ConfigVar[];

/** What the cron uses (src/maintenance.ts): Stripe, as above, and the retention periods. */
export const MAINTENANCE_VARS = [
  ...STRIPE_EVENT_VARS,
  "RETENTION_DAYS",
  "EVENT_RETENTION_DAYS",
  "WEBHOOK_RETENTION_DAYS",
] as const satisfies readonly ConfigVar[];

/**
 * Per use (its list of names), the last parsed config and the vars it came from. Parsing (URLs,
 * numbers, ranges) cost about 60 µs, more than the rest of a request's own logic
 * (bench/RESULTS.md); the vars are compared on every call, so a changed var still takes effect
 * at once and never serves a stale config. One entry per list of names in the code: bounded.
 */
const lastParsed = new Map<string, { vars: string; config: Readonly<Partial<Config>> }>();

/**
 * The named vars, parsed; the others are not read at all. A missing or malformed var is our
 * fault: 500 with an error that names it, never a guess.
 */
export function parseConfigOf<K extends ConfigVar>(
  env: ServiceVars,
  names: readonly K[],
): Readonly<Pick<Config, K>> {
  const input = Object.fromEntries(names.map((name) => [name, env[name] || undefined]));
  const use = names.join(",");
  const vars = JSON.stringify(names.map((name) => input[name] ?? null));
  const last = lastParsed.get(use);
  if (last?.vars === vars) return last.config as Readonly<Pick<Config, K>>;
  // Typed as the whole schema: the names' own fields are all that the pick parses and returns.
  const mask = Object.fromEntries(names.map((name) => [name, true])) as Record<ConfigVar, true>;
  const result = configSchema.pick(mask).safeParse(input);
  if (!result.success) {
    const names = [...new Set(result.error.issues.map((issue) => String(issue.path[0])))];
    throw new ApiError("internal", MESSAGES.misconfiguredVariables(names.join(", ")));
  }
  const config: Readonly<Pick<Config, K>> = Object.freeze(result.data);
  lastParsed.set(use, { vars, config });
  return config;
}

/** Every var, parsed: for the JSON API and the queue consumer. */
export function parseConfig(env: ServiceVars): Readonly<Config> {
  return parseConfigOf(env, VAR_NAMES);
}

const SECRET_KEY_PATTERN = { test: /^(sk|rk)_test_\w+$/, live: /^(sk|rk)_live_\w+$/ } as const;

/** The Stripe secret key for a mode; a missing or wrong-mode key is named, never shown. */
export function stripeSecretKey(env: ServiceVars, livemode: boolean): string {
  const name = livemode ? "STRIPE_SECRET_KEY_LIVE" : "STRIPE_SECRET_KEY_TEST";
  const value = env[name];
  const pattern = SECRET_KEY_PATTERN[livemode ? "live" : "test"];
  if (!value || !pattern.test(value)) {
    throw new ApiError(
      "internal",
      MESSAGES.misconfiguredSecretKey(name, livemode ? "live" : "test"),
    );
  }
  return value;
}
