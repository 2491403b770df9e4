import { parseArgs } from "node:util";

const LIMITS = { seconds: 600, concurrency: 128, webhookWait: 600, webhookSeed: 2 ** 31 - 1 };

export const USAGE = `usage: npm run load -- [--seconds N] [--concurrency N] [--webhook-wait N] [--webhook-seed N] [--rate-limits] [--verbose]
  --seconds N        how long the load runs (default 60, 1…${LIMITS.seconds}; env LOAD_SECONDS)
  --concurrency N    clients sending at once (default 16, 1…${LIMITS.concurrency}; env LOAD_CONCURRENCY)
  --webhook-wait N   after the load, wait at most N s for every webhook delivery to end (default 180, 1…${LIMITS.webhookWait})
  --webhook-seed N   the seed of the failing webhook receiver's 30 % failures (default 15, 1…${LIMITS.webhookSeed})
  --rate-limits      keep the create rate limits of wrangler.toml (429 then counts as expected)
  --verbose          show the output of wrangler dev and the Stripe double`;

export interface Settings {
  seconds: number;
  concurrency: number;
  /** Seconds to wait after the load for the webhook deliveries to be delivered or dead. */
  webhookWait: number;
  /** Seeds the failing receiver's random failures, so a run's sequence of answers repeats. */
  webhookSeed: number;
  rateLimits: boolean;
  verbose: boolean;
}

export function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: "string" },
      concurrency: { type: "string" },
      "webhook-wait": { type: "string" },
      "webhook-seed": { type: "string" },
      "rate-limits": { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const integer = (name: string, raw: string | undefined, fallback: number, max: number) => {
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new UsageError(`${name} must be a whole number from 1 to ${max}, not "${raw}"`);
    }
    return value;
  };
  return {
    seconds: integer("--seconds", values.seconds ?? process.env.LOAD_SECONDS, 60, LIMITS.seconds),
    concurrency: integer(
      "--concurrency",
      values.concurrency ?? process.env.LOAD_CONCURRENCY,
      16,
      LIMITS.concurrency,
    ),
    webhookWait: integer("--webhook-wait", values["webhook-wait"], 180, LIMITS.webhookWait),
    webhookSeed: integer("--webhook-seed", values["webhook-seed"], 15, LIMITS.webhookSeed),
    rateLimits: values["rate-limits"],
    verbose: values.verbose,
  };
}

class UsageError extends Error {}
