/**
 * `npm run dev`: the whole service on this machine, with no Cloudflare or Stripe account.
 *
 * 1. creates `.dev.vars` from `.dev.vars.example` if there is none, or appends to it the
 *    variables it lacks that the example has (saying which; never their values);
 * 2. applies the D1 migrations to the local database;
 * 3. seeds a demo app with a write key, a read key and an access-token key pair (once; kept in
 *    .wrangler/demo-credentials.json and .wrangler/demo-token-*.pem);
 * 4. starts the Stripe double on loopback when STRIPE_API_BASE_URL points at loopback and saves
 *    the demo app's customer portal settings there (test mode), as an operator does once in
 *    Stripe's Dashboard; else says that it talks to Stripe's test mode with the key in
 *    `.dev.vars`, and where the operator saves those settings;
 * 5. runs `wrangler dev` on http://127.0.0.1:8787 and prints ready-to-paste curl lines;
 * 6. runs a webhook receiver on http://127.0.0.1:8789 (WEBHOOK_RECEIVER_PORT), registers the
 *    demo app's test-mode endpoint on it through the API, and prints each delivery that arrives
 *    (scripts/lib/dev-webhooks.ts).
 * Ctrl-C stops everything it started.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  existsSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { parseEnv } from "node:util";
import { importPKCS8, SignJWT } from "jose";
import { updateApp } from "../cli/app-update.ts";
import { createApp, showApp } from "../cli/apps.ts";
import type { Deps } from "../cli/deps.ts";
import { createKey } from "../cli/keys.ts";
import { withPlatform } from "../cli/platform.ts";
import { exampleCreateBody } from "../src/schemas/example-body.ts";
import {
  type DemoEndpoint,
  knownSecret,
  registerDemoEndpoint,
  startDemoReceiver,
  webhookUsage,
} from "./lib/dev-webhooks.ts";
import type { WebhookReceiver } from "./lib/webhook-receiver.ts";

const root = path.resolve(import.meta.dirname, "..");
const wranglerJs = path.join(root, "node_modules", "wrangler", "bin", "wrangler.js");
const credentialsFile = path.join(root, ".wrangler", "demo-credentials.json");
const tokenPrivateKeyFile = path.join(root, ".wrangler", "demo-token-private.pem");
const tokenPublicKeyFile = path.join(root, ".wrangler", "demo-token-public.pem");
const webhookEndpointFile = path.join(root, ".wrangler", "demo-webhook-endpoint.json");
const DEMO_ISSUER = "https://issuer.demo.local";
const workerPort = Number(process.env.PORT ?? 8787);
const workerOrigin = `http://127.0.0.1:${workerPort}`;
const quietEnv = { ...process.env, FORCE_COLOR: "0", WRANGLER_SEND_METRICS: "false" };

function say(line: string): void {
  process.stdout.write(`[dev] ${line}\n`);
}

/** Absent on purpose: without it the worker talks to api.stripe.com (.dev.vars.example says so). */
const ABSENT_ON_PURPOSE = new Set(["STRIPE_API_BASE_URL"]);

/**
 * Appends to an existing .dev.vars the variables of .dev.vars.example it lacks (those added to
 * the example since it was copied, such as WEBHOOK_ENCRYPTION_KEY), each with the example's
 * comment and value, under a comment that says so; prints their names, never their values.
 */
function appendMissingVars(file: string, exampleFile: string): void {
  const text = readFileSync(file, "utf8");
  const present = parseEnv(text);
  const missing: string[] = [];
  const blocks: string[] = [];
  let comments: string[] = [];
  for (const line of readFileSync(exampleFile, "utf8").split("\n")) {
    if (/^\s*#/.test(line)) {
      comments.push(line);
      continue;
    }
    const name = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1];
    if (name && !(name in present) && !ABSENT_ON_PURPOSE.has(name)) {
      missing.push(name);
      blocks.push([...comments, line].join("\n"));
    }
    comments = [];
  }
  if (missing.length === 0) return;
  const day = new Date().toISOString().slice(0, 10);
  appendFileSync(
    file,
    `${text === "" || text.endsWith("\n") ? "" : "\n"}\n# Added by npm run dev on ${day}: in .dev.vars.example, missing here (the example's local values).\n${blocks.join("\n")}\n`,
  );
  say(
    `.dev.vars lacked ${missing.join(", ")}, which .dev.vars.example has: appended them to .dev.vars with the example's values and comments`,
  );
}

function readDevVars(): Record<string, string> {
  const file = path.join(root, ".dev.vars");
  const exampleFile = path.join(root, ".dev.vars.example");
  if (!existsSync(file)) {
    copyFileSync(exampleFile, file);
    say("created .dev.vars from .dev.vars.example (local Stripe double, fake secrets)");
  } else {
    appendMissingVars(file, exampleFile);
  }
  // Node's own dotenv parser, the format wrangler reads .dev.vars in.
  return Object.fromEntries(
    Object.entries(parseEnv(readFileSync(file, "utf8"))).filter(
      (entry): entry is [string, string] => typeof entry[1] === "string",
    ),
  );
}

interface DemoCredentials {
  appId: string;
  writeKey: string;
  readKey: string;
  tokenIssuer: string;
}

/** The demo app's credentials, and its test-mode Stripe account (null: the platform's own). */
interface DemoApp {
  credentials: DemoCredentials;
  stripeAccountTest: string | null;
}

async function seedDemo(stripeDoubleOrigin: string | null): Promise<DemoApp> {
  // The state that `wrangler dev` (started below with the same config) reads.
  const target = { configPath: path.join(root, "wrangler.toml"), remote: false } as const;
  return withPlatform(target, (bindings) => seedDemoApp({ bindings }, stripeDoubleOrigin));
}

/** The demo app's own pages (served by the Stripe double's server, or, with real Stripe, none). */
function demoPage(stripeDoubleOrigin: string | null, page: "success" | "cancel" | "account") {
  return `${stripeDoubleOrigin ?? workerOrigin}/demo/${page}`;
}

async function seedDemoApp(deps: Deps, stripeDoubleOrigin: string | null): Promise<DemoApp> {
  if (existsSync(credentialsFile)) {
    const saved = JSON.parse(readFileSync(credentialsFile, "utf8")) as Partial<DemoCredentials>;
    try {
      if (
        !saved.appId ||
        !saved.writeKey ||
        !saved.readKey ||
        !saved.tokenIssuer ||
        !existsSync(tokenPrivateKeyFile)
      ) {
        throw new Error("incomplete");
      }
      const app = await showApp(deps, saved.appId);
      // Demo apps seeded before the customer portal existed get its return page.
      if (!app.portalReturnUrl) {
        await updateApp(deps, app.id, { portalReturnUrl: demoPage(stripeDoubleOrigin, "account") });
      }
      say("demo app found in local KV (delete .wrangler/demo-credentials.json to make a new one)");
      return { credentials: saved as DemoCredentials, stripeAccountTest: app.stripeAccountTest };
    } catch {
      say("saved demo credentials are gone from local KV or incomplete; seeding new ones");
    }
  }
  const app = await createApp(deps, {
    name: "Demo app",
    successUrl: demoPage(stripeDoubleOrigin, "success"),
    cancelUrl: demoPage(stripeDoubleOrigin, "cancel"),
  });
  const write = await createKey(deps, { appId: app.id, type: "write", label: "demo write key" });
  const read = await createKey(deps, { appId: app.id, type: "read", label: "demo read key" });
  // A key pair for access tokens: the app knows the public key, this script signs with the
  // private one (a real app's identity provider would hold it).
  const pair = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  writeFileSync(tokenPrivateKeyFile, pair.privateKey, { mode: 0o600 });
  writeFileSync(tokenPublicKeyFile, pair.publicKey);
  await updateApp(deps, app.id, {
    tokenIssuer: DEMO_ISSUER,
    publicKeyFile: tokenPublicKeyFile,
    origins: [workerOrigin],
    portalReturnUrl: demoPage(stripeDoubleOrigin, "account"),
  });
  const credentials = {
    appId: app.id,
    writeKey: write.key,
    readKey: read.key,
    tokenIssuer: DEMO_ISSUER,
  };
  writeFileSync(credentialsFile, `${JSON.stringify(credentials, null, 2)}\n`);
  chmodSync(credentialsFile, 0o600);
  say(`seeded demo app ${app.id} with a write and a read key`);
  return { credentials, stripeAccountTest: app.stripeAccountTest };
}

/**
 * Saves the demo app's customer portal settings (test mode, its account) in the Stripe double,
 * as an operator does once in Stripe's Dashboard: without them Stripe opens no portal session.
 * With real Stripe, says where the operator does it.
 */
async function portalSettings(doubleOrigin: string | null, account: string | null): Promise<void> {
  if (!doubleOrigin) {
    say(
      "the customer portal opens once its test-mode settings are saved in Stripe's Dashboard: https://dashboard.stripe.com/test/settings/billing/portal",
    );
    return;
  }
  const query = new URLSearchParams({ livemode: "false", ...(account ? { account } : {}) });
  const res = await fetch(`${doubleOrigin}/__double/portal-configuration?${query}`, {
    method: "POST",
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) {
    throw new Error(`the Stripe double did not save the portal settings: ${await res.text()}`);
  }
  say(
    `saved the customer portal's test-mode settings in the Stripe double (${account ?? "the platform's own account"}), as an operator does once in Stripe's Dashboard`,
  );
}

function isLoopback(url: string): boolean {
  try {
    return ["127.0.0.1", "localhost", "[::1]"].includes(new URL(url).hostname);
  } catch {
    return false;
  }
}

async function waitFor(url: string, child: ChildProcess, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the process serving it exited`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`${url} did not answer within ${seconds} s`);
}

/** A fresh demo access token (one hour), for a random tenant, signed with the demo key. */
async function demoToken(c: DemoCredentials): Promise<{ token: string; tenantId: string }> {
  const key = await importPKCS8(readFileSync(tokenPrivateKeyFile, "utf8"), "RS256");
  const tenantId = crypto.randomUUID();
  const token = await new SignJWT({ tenantId })
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .setIssuer(c.tokenIssuer)
    .setAudience(c.appId)
    .setSubject("demo-user")
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(key);
  return { token, tenantId };
}

function printUsage(
  c: DemoCredentials,
  demo: { token: string; tenantId: string },
  doubleOrigin: string | null,
  webhooks: string,
): void {
  // The API's example body, with the shell's $STATE spliced in (the body sits in single quotes).
  const body = (mode: "payment" | "subscription", price: string) =>
    JSON.stringify(exampleCreateBody("STATE", { mode, price })).replace(
      '"state":"STATE"',
      `"state":"'"$STATE"'"`,
    );
  const headers = `-H 'Content-Type: application/json' -H 'X-API-KEY: ${c.writeKey}' -H 'X-API-KEY-TYPE: write' -H 'X-CLIENT-ID: ${c.appId}'`;
  process.stdout.write(`
────────────────────────────────────────────────────────────────────────────
 checkout-edge is running on ${workerOrigin}

 Demo app     ${c.appId}
 Write key    ${c.writeKey}
 Read key     ${c.readKey}
 (local demo credentials only; saved in .wrangler/demo-credentials.json)

 Create a checkout (a new random state each time):
   STATE=$(openssl rand -hex 32)
   curl -s ${workerOrigin}/api/v1/checkout-sessions ${headers} \\
     -d '${body("payment", "price_eur_once")}'

 A subscription, for a tenant:
   STATE=$(openssl rand -hex 32); TENANT=$(cat /proc/sys/kernel/random/uuid)
   curl -s ${workerOrigin}/api/v1/tenants/$TENANT/checkout-sessions ${headers} \\
     -d '${body("subscription", "price_eur_monthly")}'

 With an access token instead (valid 1 hour, for tenant ${demo.tenantId}):
   STATE=$(openssl rand -hex 32)
   curl -s ${workerOrigin}/api/v1/checkout-sessions -H 'Content-Type: application/json' \\
     -H 'Authorization: Bearer ${demo.token}' \\
     -d '${body("payment", "price_eur_once")}'

 Then open data.checkout.nextAction.url + "?state=$STATE" in a browser, press Pay on the
 Stripe double's page, and read the record back (status "complete"):
   curl -s ${workerOrigin}/api/v1/checkout-sessions/<data.checkout.id> -H 'X-API-KEY: ${c.readKey}' -H 'X-API-KEY-TYPE: read' -H 'X-CLIENT-ID: ${c.appId}'
 After paying a subscription, the tenant's billing state (paidUntil, paymentFailed, invoices):
   curl -s '${workerOrigin}/api/v1/tenants/'$TENANT'/billing?test=true' -H 'X-API-KEY: ${c.readKey}' -H 'X-API-KEY-TYPE: read' -H 'X-CLIENT-ID: ${c.appId}'
${billingRehearsal(doubleOrigin, headers)}${webhooks}
 API documentation: ${workerOrigin}/docs (its Test Request client works with the access token
 above; API keys are refused from a browser with 403, by design)
 Prices the Stripe double knows: price_eur_once, price_eur_monthly, price_usd_once,
 price_usd_monthly; tax rates: txr_vat_de_19, txr_reverse_charge_0, txr_zero.
 Rows: npx wrangler d1 execute DB --local --command "SELECT * FROM checkout_sessions"
────────────────────────────────────────────────────────────────────────────
`);
}

/** How to rehearse a failed renewal and open the portal (with the double only). */
function billingRehearsal(doubleOrigin: string | null, headers: string): string {
  if (!doubleOrigin) return "";
  return ` Rehearse a failed renewal (the double renews at once and sends Stripe's events; the
 subscription id is in the billing state above), then read the billing state again
 (paymentFailed: true) and open the customer portal, whose "Update card" pays it:
   curl -s -X POST '${doubleOrigin}/__double/subscriptions/<sub_…>/renew?outcome=failed'
   curl -s ${workerOrigin}/api/v1/tenants/$TENANT/portal-sessions ${headers} \\
     -d '{"test":true,"flow":"payment_method_update"}'
 More (cancel, pause, refunds, Stripe outages): docs/stripe-double.md
`;
}

/** The retry schedule the worker runs with: .dev.vars's, else wrangler.toml's. */
function retrySeconds(vars: Record<string, string>): string {
  const toml = readFileSync(path.join(root, "wrangler.toml"), "utf8");
  return (
    vars.WEBHOOK_RETRY_SECONDS ??
    /^WEBHOOK_RETRY_SECONDS = "([\d,]+)"$/m.exec(toml)?.[1] ??
    "5,300,1800,7200"
  );
}

/** The demo endpoint on the receiver, and the lines about it; none (said why) if refused. */
async function demoWebhooks(
  c: DemoCredentials,
  receiver: WebhookReceiver,
  vars: Record<string, string>,
): Promise<string> {
  let endpoint: DemoEndpoint;
  try {
    endpoint = await registerDemoEndpoint({
      workerOrigin,
      app: c,
      receiver,
      file: webhookEndpointFile,
    });
  } catch (err) {
    const hint =
      vars.WEBHOOK_ALLOW_LOOPBACK === "true"
        ? ""
        : " (a test-mode endpoint on 127.0.0.1 needs WEBHOOK_ALLOW_LOOPBACK=true in .dev.vars)";
    say(
      `no demo webhook endpoint, so no deliveries: ${err instanceof Error ? err.message : String(err)}${hint}`,
    );
    await receiver.close();
    return "";
  }
  const how = {
    registered: "registered the demo app's webhook endpoint",
    found: "found the demo app's webhook endpoint",
    moved: "pointed the demo app's webhook endpoint",
  }[endpoint.how];
  say(`${how} ${endpoint.id} (test mode) at the receiver, ${endpoint.url}`);
  if (endpoint.removed > 0) {
    say(
      `deleted ${endpoint.removed} earlier demo endpoint(s) on the receiver whose secret was lost (.wrangler/demo-webhook-endpoint.json gone)`,
    );
  }
  return webhookUsage({
    workerOrigin,
    app: c,
    receiver,
    endpoint,
    retrySeconds: retrySeconds(vars),
  });
}

async function main(): Promise<void> {
  const vars = readDevVars();
  const stripeBase = vars.STRIPE_API_BASE_URL || "https://api.stripe.com";
  const useDouble = isLoopback(stripeBase);

  // First, so that a taken port is refused before anything else starts.
  const receiver = await startDemoReceiver((line) => process.stdout.write(`${line}\n`));
  say(`webhook receiver listening on ${receiver.origin} (WEBHOOK_RECEIVER_PORT)`);

  say("applying D1 migrations to the local database");
  execFileSync(process.execPath, [wranglerJs, "d1", "migrations", "apply", "DB", "--local"], {
    cwd: root,
    env: quietEnv,
    stdio: ["ignore", "ignore", "inherit"],
  });

  const children: ChildProcess[] = [];
  const stopAll = () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
    void receiver.close();
  };
  process.on("SIGINT", () => {
    stopAll();
    process.exit(130);
  });
  process.on("SIGTERM", () => {
    stopAll();
    process.exit(143);
  });
  process.on("exit", stopAll);

  let doubleOrigin: string | null = null;
  if (useDouble) {
    const port = new URL(stripeBase).port || "80";
    doubleOrigin = `http://127.0.0.1:${port}`;
    const double = spawn(
      process.execPath,
      [path.join(root, "scripts", "stripe-double-server.ts")],
      {
        cwd: root,
        env: {
          ...process.env,
          STRIPE_DOUBLE_PORT: port,
          WEBHOOK_URL: `${workerOrigin}/api/v1/webhooks/stripe`,
          STRIPE_WEBHOOK_SECRET_TEST: vars.STRIPE_WEBHOOK_SECRET_TEST ?? "",
          STRIPE_WEBHOOK_SECRET_LIVE: vars.STRIPE_WEBHOOK_SECRET_LIVE ?? "",
          STRIPE_CONNECT_WEBHOOK_SECRET_TEST: vars.STRIPE_CONNECT_WEBHOOK_SECRET_TEST ?? "",
          STRIPE_CONNECT_WEBHOOK_SECRET_LIVE: vars.STRIPE_CONNECT_WEBHOOK_SECRET_LIVE ?? "",
        },
        stdio: ["ignore", "inherit", "inherit"],
      },
    );
    children.push(double);
    await waitFor(`${doubleOrigin}/demo/success`, double, 15);
    say(`Stripe double (no real Stripe) on ${doubleOrigin}, from STRIPE_API_BASE_URL in .dev.vars`);
  } else {
    say(
      `talking to Stripe at ${stripeBase} with STRIPE_SECRET_KEY_TEST from .dev.vars (test mode)`,
    );
  }

  const { credentials, stripeAccountTest } = await seedDemo(doubleOrigin);
  await portalSettings(doubleOrigin, stripeAccountTest);
  // An earlier run's deliveries may still be retried: they verify as soon as they come.
  const earlier = knownSecret(webhookEndpointFile, credentials.appId);
  if (earlier) receiver.setSecrets([earlier]);

  const worker = spawn(
    process.execPath,
    [
      wranglerJs,
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(workerPort),
      "--show-interactive-dev-session=false",
      // nextAction.url must lead to where this worker listens.
      "--var",
      `PUBLIC_BASE_URL:${workerOrigin}`,
    ],
    { cwd: root, env: quietEnv, stdio: ["ignore", "inherit", "inherit"] },
  );
  children.push(worker);
  worker.on("exit", (code) => {
    stopAll();
    process.exit(code ?? 1);
  });
  await waitFor(`${workerOrigin}/healthz`, worker, 60);
  const webhooks = await demoWebhooks(credentials, receiver, vars);
  printUsage(credentials, await demoToken(credentials), doubleOrigin, webhooks);
}

main().catch((err: unknown) => {
  process.stderr.write(`[dev] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
