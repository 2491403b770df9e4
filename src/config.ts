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
    | (typeof VAR_NAMES)[number]
    | "STRIPE_SECRET_KEY_TEST"
    | "STRIPE_SECRET_KEY_LIVE"
    | "WEBHOOK_ENCRYPTION_KEY",
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

/** The vars parseConfig reads, in a fixed order. */
const VAR_NAMES = [
  "PUBLIC_BASE_URL",
  "STRIPE_API_BASE_URL",
  "CHECKOUT_EXPIRES_MINUTES",
  "STRIPE_TIMEOUT_MS",
  "STRIPE_MAX_NETWORK_RETRIES",
  "RETENTION_DAYS",
  "EVENT_RETENTION_DAYS",
  "BILLING_RESYNC_HOURS",
  "WEBHOOK_TIMEOUT_MS",
  "WEBHOOK_RETRY_SECONDS",
  "WEBHOOK_ALLOW_LOOPBACK",
  "WEBHOOK_RETENTION_DAYS",
] as const;

function configVars(vars: ServiceVars): Record<(typeof VAR_NAMES)[number], string | undefined> {
  return Object.fromEntries(VAR_NAMES.map((name) => [name, vars[name] || undefined])) as Record<
    (typeof VAR_NAMES)[number],
    string | undefined
  >;
}

/**
 * The last parsed config and the vars it came from. Parsing (URLs, numbers, ranges) cost about
 * 60 µs, more than the rest of a request's own logic (bench/RESULTS.md); the vars are compared
 * on every call, so a changed var still takes effect at once and never serves a stale config.
 */
let lastParsed: { vars: string; config: Readonly<Config> } | undefined;

/**
 * The service's vars, parsed. A missing or malformed var is our fault: 500 with an error that
 * names it, never a guess.
 */
export function parseConfig(env: ServiceVars): Readonly<Config> {
  const input = configVars(env);
  const vars = JSON.stringify(Object.values(input));
  if (lastParsed?.vars === vars) return lastParsed.config;
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const names = [...new Set(result.error.issues.map((issue) => String(issue.path[0])))];
    throw new ApiError("internal", MESSAGES.misconfiguredVariables(names.join(", ")));
  }
  const config = Object.freeze(result.data);
  lastParsed = { vars, config };
  return config;
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
