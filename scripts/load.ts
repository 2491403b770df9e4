/**
 * `npm run load`: a bounded load and soak run on loopback (docs/load.md).
 *
 * Starts the worker (`wrangler dev`) and the Stripe double with their own temporary state
 * (scripts/lib/local-stack.ts), sends a mixed load for a fixed time with a fixed number of
 * concurrent clients, then reconciles what the clients were told with what D1 and the double
 * hold, and the outbound webhooks two loopback receivers got (one healthy, one failing 30 %)
 * with the events and delivery logs the service lists, prints one table, and exits non-zero on
 * any loss, duplicate or unexpected status.
 * Everything it starts is stopped again, also on Ctrl-C and on errors.
 */
import { main } from "./load/main.ts";

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`load: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
