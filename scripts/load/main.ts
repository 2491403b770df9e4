import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type LocalStack, repoRoot, startLocalStack } from "../lib/local-stack.ts";
import type { DoubleSessionSummaries } from "../stripe-double-server.ts";
import { reconcileAppEvents } from "./app-events-once.ts";
import { LoadClient, REQUEST_TIMEOUT_MS } from "./client.ts";
import { readDoubleBilling } from "./double-billing.ts";
import { sendNext } from "./kinds.ts";
import { queryRows, reconcile } from "./reconcile.ts";
import { Recorder } from "./recorder.ts";
import { renderTable } from "./report.ts";
import { parseSettings, type Settings, USAGE } from "./settings.ts";
import { FAIL_RATE, LOAD_RETRY_SECONDS } from "./webhook-schedule.ts";
import { closeWebhookTargets, startWebhookTargets, type WebhookTarget } from "./webhook-targets.ts";
import { checkWebhooks } from "./webhooks.ts";

/** A hard bound on requests, whatever the machine manages in the time. */
const MAX_REQUESTS = 2_000_000;
/** After the load stops: time for webhooks still on their way. */
const SETTLE_MS = 2_000;

function say(line: string): void {
  process.stderr.write(`[load] ${line}\n`);
}

/**
 * The create rate limits (60 a minute per key, 120 per address) would turn almost every create
 * of a load run into 429. Unless --rate-limits, the worker runs behind this entry, which hands it
 * its own bindings with only those two limiters replaced by ones that always allow.
 */
function writeUnlimitedEntry(dir: string): string {
  const entry = path.join(dir, "load-entry.js");
  writeFileSync(
    entry,
    `import worker from ${JSON.stringify(path.join(repoRoot, "src", "index.ts"))};
const unlimited = { limit: async () => ({ success: true }) };
const lifted = (env) => ({ ...env, CREATE_LIMIT_PER_CREDENTIAL: unlimited, CREATE_LIMIT_PER_ADDRESS: unlimited });
export default {
  fetch: (request, env, ctx) => worker.fetch(request, lifted(env), ctx),
  scheduled: (controller, env, ctx) => worker.scheduled(controller, lifted(env), ctx),
  queue: (batch, env, ctx) => worker.queue(batch, lifted(env), ctx),
};
`,
  );
  return entry;
}

export async function main(): Promise<number> {
  let settings: Settings;
  try {
    settings = parseSettings(process.argv.slice(2));
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  console.log(
    `load: ${settings.seconds} s, concurrency ${settings.concurrency}, create rate limits ${settings.rateLimits ? "kept (429 expected on creates)" : "lifted"}, webhooks to a healthy and a ${Math.round(FAIL_RATE * 100)} % failing receiver (seed ${settings.webhookSeed}, wait at most ${settings.webhookWait} s), loopback only`,
  );

  const abort = new AbortController();
  let interrupted: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = signal;
    say(`${signal}: stopping the load and everything it started`);
    abort.abort(new Error(signal));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);

  const entryDir = mkdtempSync(path.join(tmpdir(), "checkout-edge-load-"));
  let stack: LocalStack | null = null;
  let targets: WebhookTarget[] = [];
  try {
    say("starting wrangler dev and the Stripe double on loopback (about 30 s)");
    stack = await startLocalStack({
      main: settings.rateLimits ? undefined : writeUnlimitedEntry(entryDir),
      verbose: settings.verbose,
      // Retries within seconds, not days, so every delivery ends within the run.
      vars: { WEBHOOK_RETRY_SECONDS: LOAD_RETRY_SECONDS.join(",") },
    });
    if (interrupted) return 130;
    say(`worker ${stack.workerOrigin}, Stripe double ${stack.stripeOrigin}`);

    const rec = new Recorder();
    const client = new LoadClient(stack, rec, settings, abort.signal);
    targets = await startWebhookTargets(client, settings.webhookSeed);
    say(
      `webhook endpoints: ${targets.map((t) => `${t.name} ${t.endpointId} at ${t.receiver.url}`).join(", ")}`,
    );
    const started = performance.now();
    const deadline = started + settings.seconds * 1000;
    const progress = setInterval(() => {
      say(`${Math.round((performance.now() - started) / 1000)} s: ${rec.total} requests`);
    }, 10_000);
    try {
      await Promise.all(
        Array.from({ length: settings.concurrency }, async () => {
          while (!abort.signal.aborted && performance.now() < deadline && rec.total < MAX_REQUESTS)
            await sendNext(client);
        }),
      );
    } finally {
      clearInterval(progress);
    }
    const elapsedSeconds = (performance.now() - started) / 1000;
    if (interrupted) return 130;

    say(`load stopped after ${elapsedSeconds.toFixed(1)} s; reconciling`);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const doubleResponse = await fetch(`${stack.stripeOrigin}/__double/sessions`, {
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const double = (await doubleResponse.json()) as DoubleSessionSummaries;
    const billing = await readDoubleBilling(stack.stripeOrigin);
    const rows = await queryRows(stack);
    const checks = reconcile(rec, rows, double);

    const webhooks = await checkWebhooks(
      client,
      rec,
      targets,
      settings.webhookWait,
      abort.signal,
      say,
    ).catch((err: unknown) => {
      if (interrupted) return null;
      throw err;
    });
    if (interrupted || !webhooks) return 130;
    checks.push(...webhooks.checks, ...reconcileAppEvents(rec, webhooks.events, double, billing));

    if (rec.examples.length > 0) {
      say("first findings:");
      for (const example of rec.examples) say(`  ${example}`);
    }
    console.log(renderTable(rec, settings, elapsedSeconds, checks, webhooks.summary));
    const passed = checks.every((check) => check.pass);
    console.log(passed ? "load: PASS" : "load: FAIL");
    return passed ? 0 : 1;
  } finally {
    await closeWebhookTargets(targets);
    if (stack) {
      say("stopping wrangler dev and the Stripe double");
      await stack.stop();
    }
    rmSync(entryDir, { recursive: true, force: true });
  }
}
