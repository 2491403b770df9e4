import { parseArgs } from "node:util";

const LIMITS = { seconds: 600, concurrency: 128 };

export const USAGE = `usage: npm run load -- [--seconds N] [--concurrency N] [--rate-limits] [--verbose]
  --seconds N       how long the load runs (default 60, 1…${LIMITS.seconds}; env LOAD_SECONDS)
  --concurrency N   clients sending at once (default 16, 1…${LIMITS.concurrency}; env LOAD_CONCURRENCY)
  --rate-limits     keep the create rate limits of wrangler.toml (429 then counts as expected)
  --verbose         show the output of wrangler dev and the Stripe double`;

export interface Settings {
  seconds: number;
  concurrency: number;
  rateLimits: boolean;
  verbose: boolean;
}

export function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: "string" },
      concurrency: { type: "string" },
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
    rateLimits: values["rate-limits"],
    verbose: values.verbose,
  };
}

class UsageError extends Error {}
