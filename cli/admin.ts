import path from "node:path";
import { parseArgs } from "node:util";
import type { AppRecord } from "../src/apps/records.ts";
import type { ReconcileResult } from "../src/billing/reconcile.ts";
import { type UpdatedApp, updateApp } from "./app-update.ts";
import { createApp, disableApp, enableApp, showApp } from "./apps.ts";
import { reconcileNow } from "./billing.ts";
import type { Command as CommandOf, ValuesOf } from "./command.ts";
import { UsageError } from "./errors.ts";
import {
  type CreatedKey,
  createKey,
  type KeySummary,
  listKeys,
  type RevokedKey,
  revokeKey,
} from "./keys.ts";
import { type PlatformTarget, withPlatform } from "./platform.ts";
import { escapeControls, printable } from "./printable.ts";
import { publicKeyFingerprint } from "./public-keys.ts";
import { forgetCustomer } from "./tenants.ts";
import {
  WEBHOOK_COMMANDS,
  WEBHOOK_NOTES,
  WEBHOOK_OPTIONS,
  WEBHOOK_USAGE,
} from "./webhook-commands.ts";

/**
 * The operator's tool: `npm run --silent admin -- <group> <action> [args] [flags]`.
 * Parses flags, picks the KV target (local wrangler state or Cloudflare), runs one command
 * and prints its result as text or, with --json, as exactly one JSON object on stdout.
 */

const USAGE = `Usage: npm run --silent admin -- <command> [options]

Commands:
  app create --name NAME [--success-url URL] [--cancel-url URL]
             [--stripe-account-test acct_…] [--stripe-account-live acct_…] [--live]
  app update APP_ID [--name NAME] [--success-url URL] [--cancel-url URL]
             [--portal-return-url URL|none]
             [--stripe-account-test acct_…|none] [--stripe-account-live acct_…|none]
             [--live | --no-live] [--issuer ISSUER] [--public-key-file PATH]
             [--origin ORIGIN]... [--clear-origins]
  app show APP_ID
  app disable APP_ID
  app enable APP_ID
  key create --app APP_ID --type read|write [--label TEXT]
  key list --app APP_ID
  key revoke KEY_ID
  tenant forget-customer --app APP_ID --tenant TENANT_ID [--live]
  billing reconcile [--limit N] [--all]
${WEBHOOK_USAGE}
Options for every command:
  --json            print exactly one JSON object on stdout
  --remote          use the APPS namespace and DB database on Cloudflare (needs \`wrangler login\`)
  --local           use the local state of \`wrangler dev\` (the default)
  --persist-to DIR  local state directory, as for wrangler dev (default .wrangler/state)
  -h, --help        show this text

\`app update\` changes only the fields given. --public-key-file takes an RSA public key
(at least 2048 bits) in PEM, SPKI form (-----BEGIN PUBLIC KEY-----), never a private key.
The --origin values (repeat the flag) replace the whole list of allowed browser origins
(https://host[:port], or http://localhost[:port] / http://127.0.0.1[:port]);
--clear-origins empties it. --stripe-account-test/-live none: the platform's own account.

A new API key is printed once, by \`key create\`; only its SHA-256 digest is stored.
\`tenant forget-customer\` makes the tenant's next checkout (test mode; --live for live) let
Stripe create a new customer: for one deleted at Stripe, or moved to another account.
${WEBHOOK_NOTES}Exit codes: 0 done, 1 could not be done (e.g. app not found), 2 bad usage.
`;

const GLOBAL_FLAGS = ["json", "remote", "local", "persist-to", "help"];

const OPTIONS = {
  json: { type: "boolean" },
  remote: { type: "boolean" },
  local: { type: "boolean" },
  "persist-to": { type: "string" },
  help: { type: "boolean", short: "h" },
  name: { type: "string" },
  "success-url": { type: "string" },
  "cancel-url": { type: "string" },
  "portal-return-url": { type: "string" },
  "stripe-account-test": { type: "string" },
  "stripe-account-live": { type: "string" },
  live: { type: "boolean" },
  "no-live": { type: "boolean" },
  issuer: { type: "string" },
  "public-key-file": { type: "string" },
  origin: { type: "string", multiple: true },
  "clear-origins": { type: "boolean" },
  app: { type: "string" },
  type: { type: "string" },
  label: { type: "string" },
  tenant: { type: "string" },
  limit: { type: "string" },
  all: { type: "boolean" },
  ...WEBHOOK_OPTIONS,
} as const;

type Values = ValuesOf<typeof OPTIONS>;

type Command = CommandOf<Values>;

const COMMANDS: Record<string, Command> = {
  "app create": {
    flags: [
      "name",
      "success-url",
      "cancel-url",
      "stripe-account-test",
      "stripe-account-live",
      "live",
    ],
    required: ["name"],
    args: 0,
    run: async (deps, values) => {
      const app = await createApp(deps, {
        name: values.name ?? "",
        successUrl: values["success-url"],
        cancelUrl: values["cancel-url"],
        stripeAccountTest: values["stripe-account-test"],
        stripeAccountLive: values["stripe-account-live"],
        live: values.live ?? false,
      });
      const note =
        app.successUrl && app.cancelUrl
          ? []
          : [
              "Note: the worker refuses checkouts for it until both URLs are set (app update --success-url … --cancel-url …).",
            ];
      return { json: app, lines: [`Created app ${app.id} (${app.name}).`, ...note] };
    },
  },
  "app show": {
    flags: [],
    required: [],
    args: 1,
    argName: "APP_ID",
    run: async (deps, _values, [appId = ""]) => {
      const app = await showApp(deps, appId);
      return { json: app, lines: describeApp(app) };
    },
  },
  "app update": {
    flags: [
      "name",
      "success-url",
      "cancel-url",
      "portal-return-url",
      "stripe-account-test",
      "stripe-account-live",
      "live",
      "no-live",
      "issuer",
      "public-key-file",
      "origin",
      "clear-origins",
    ],
    required: [],
    args: 1,
    argName: "APP_ID",
    run: async (deps, values, [appId = ""]) => {
      if (values.live && values["no-live"]) {
        throw new UsageError("--live and --no-live cannot be combined");
      }
      const live = values.live ? true : values["no-live"] ? false : undefined;
      const updated = await updateApp(deps, appId, {
        name: values.name,
        successUrl: values["success-url"],
        cancelUrl: values["cancel-url"],
        portalReturnUrl: values["portal-return-url"],
        stripeAccountTest: values["stripe-account-test"],
        stripeAccountLive: values["stripe-account-live"],
        live,
        tokenIssuer: values.issuer,
        publicKeyFile: values["public-key-file"] && fromOperatorCwd(values["public-key-file"]),
        origins: values.origin,
        clearOrigins: values["clear-origins"],
      });
      return { json: updated.app, lines: [describeUpdate(updated)] };
    },
  },
  "app disable": {
    flags: [],
    required: [],
    args: 1,
    argName: "APP_ID",
    run: async (deps, _values, [appId = ""]) => {
      const app = await disableApp(deps, appId);
      return { json: app, lines: [`App ${app.id} is disabled (since ${app.updatedAt}).`] };
    },
  },
  "app enable": {
    flags: [],
    required: [],
    args: 1,
    argName: "APP_ID",
    run: async (deps, _values, [appId = ""]) => {
      const app = await enableApp(deps, appId);
      return { json: app, lines: [`App ${app.id} is active (since ${app.updatedAt}).`] };
    },
  },
  "key create": {
    flags: ["app", "type", "label"],
    required: ["app", "type"],
    args: 0,
    run: async (deps, values) => {
      const created = await createKey(deps, {
        appId: values.app ?? "",
        type: values.type ?? "",
        label: values.label,
      });
      return { json: created, lines: describeCreatedKey(created) };
    },
  },
  "key list": {
    flags: ["app"],
    required: ["app"],
    args: 0,
    run: async (deps, values) => {
      const listing = await listKeys(deps, values.app ?? "");
      return { json: listing, lines: describeKeys(listing.appId, listing.keys) };
    },
  },
  "tenant forget-customer": {
    flags: ["app", "tenant", "live"],
    required: ["app", "tenant"],
    args: 0,
    run: async (deps, values) => {
      const result = await forgetCustomer(deps, {
        appId: values.app ?? "",
        tenantId: values.tenant ?? "",
        live: values.live ?? false,
      });
      const mode = result.livemode ? "live" : "test";
      const text = result.forgotten
        ? `Forgot Stripe customer ${result.forgotten} of tenant ${result.tenantId} (${mode} mode); its next checkout creates a new one.`
        : `Tenant ${result.tenantId} has no remembered Stripe customer in ${mode} mode; nothing changed.`;
      return { json: result, lines: [text] };
    },
  },
  "billing reconcile": {
    flags: ["limit", "all"],
    required: [],
    args: 0,
    run: async (deps, values) => {
      const result = await reconcileNow(deps, {
        limit: values.limit === undefined ? 100 : Number(values.limit),
        all: values.all ?? false,
      });
      return { json: result, lines: describeReconciled(result) };
    },
  },
  "key revoke": {
    flags: [],
    required: [],
    args: 1,
    argName: "KEY_ID",
    run: async (deps, _values, [keyId = ""]) => {
      const revoked = await revokeKey(deps, keyId);
      return { json: revoked, lines: [describeRevoked(revoked)] };
    },
  },
  ...WEBHOOK_COMMANDS,
};

function describeReconciled(result: ReconcileResult): string[] {
  const when = (seconds: number | null) =>
    seconds === null ? "-" : new Date(seconds * 1000).toISOString();
  const lines = [
    `Read ${result.checked} subscription(s) from Stripe: ${result.changed.length} changed, ${result.failed.length} could not be read.`,
    ...result.changed.map(
      (c) =>
        `  ${c.id}: ${c.before.status} → ${c.after.status}, period end ${when(c.before.currentPeriodEnd)} → ${when(c.after.currentPeriodEnd)}`,
    ),
    ...result.failed.map((f) => `  ${f.id}: ${f.error}`),
    ...(result.left > 0
      ? [
          `${result.left} due subscription(s) not read (Stripe failing, or out of time); run it again.`,
        ]
      : []),
  ];
  return lines;
}

function describeApp(app: AppRecord): string[] {
  const rows: [string, string][] = [
    ["status", app.status],
    ["live enabled", app.liveEnabled ? "yes" : "no"],
    ["success URL", app.successUrl ?? "(none)"],
    ["cancel URL", app.cancelUrl ?? "(none)"],
    ["portal return URL", app.portalReturnUrl ?? "(none: no customer portal)"],
    ["Stripe account (test)", app.stripeAccountTest ?? "(platform account)"],
    ["Stripe account (live)", app.stripeAccountLive ?? "(platform account)"],
    ["token issuer", app.tokenIssuer ?? "(none)"],
    // The PEM is public but long: the text shows a fingerprint, --json the whole key.
    ["token public key", app.publicKey ? publicKeyFingerprint(app.publicKey) : "(none)"],
    ["allowed origins", app.allowedOrigins.join(", ") || "(none)"],
    ["created", app.createdAt],
    ["updated", app.updatedAt],
  ];
  return [`App ${app.id} (${app.name})`, ...rows.map(([k, v]) => `  ${`${k}:`.padEnd(24)}${v}`)];
}

function describeUpdate({ app, changed }: UpdatedApp): string {
  if (changed.length === 0) {
    return `App ${app.id} (${app.name}): nothing changed, the values given are already set.`;
  }
  // Field names only; for the key, its fingerprint, never its text.
  const fields = changed.map((field) =>
    field === "publicKey" && app.publicKey
      ? `publicKey (${publicKeyFingerprint(app.publicKey)})`
      : field,
  );
  return `Updated app ${app.id} (${app.name}): ${fields.join(", ")}.`;
}

function describeCreatedKey(key: CreatedKey): string[] {
  return [
    `Created ${key.type} key ${key.id} for app ${key.appId}${key.label ? ` (${key.label})` : ""}.`,
    "",
    key.key,
    "",
    "This key is shown only now: store it in a secret manager. Only its SHA-256 digest is kept,",
    `so it cannot be shown again; if it is lost, revoke ${key.id} and create a new one.`,
  ];
}

function describeKeys(appId: string, keys: KeySummary[]): string[] {
  if (keys.length === 0) return [`App ${appId} has no API keys.`];
  const lines = keys.map((key) =>
    [
      key.id,
      key.type.padEnd(5),
      `created ${key.createdAt}`,
      key.revokedAt ? `revoked ${key.revokedAt}` : "active",
      key.label ?? "",
    ]
      .join("  ")
      .trimEnd(),
  );
  return [`API keys of app ${appId}:`, ...lines];
}

function describeRevoked(key: RevokedKey): string {
  return key.alreadyRevoked
    ? `Key ${key.id} was already revoked at ${key.revokedAt}.`
    : `Key ${key.id} of app ${key.appId} is revoked (at ${key.revokedAt}).`;
}

/**
 * A relative path (--persist-to, --public-key-file) means relative to where the operator typed
 * the command; npm runs scripts from the package root but keeps that directory in INIT_CWD.
 */
function fromOperatorCwd(file: string): string {
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), file);
}

type Parsed = { help: true } | { help: false; command: Command; values: Values; args: string[] };

function parse(argv: string[]): Parsed {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) return { help: true };

  // Two words (`app create`), or three in a group's sub-group (`webhook endpoint create`).
  const group = positionals.slice(0, 2).join(" ");
  const words = Object.keys(COMMANDS).some((known) => known.startsWith(`${group} `)) ? 3 : 2;
  const name = positionals.slice(0, words).join(" ");
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command: ${name}`);
  const args = positionals.slice(words);
  if (args.length < command.args) throw new UsageError(`${name}: ${command.argName} is missing`);
  if (args.length > command.args)
    throw new UsageError(`${name}: unexpected argument ${args[command.args]}`);
  for (const flag of Object.keys(values)) {
    if (!command.flags.includes(flag) && !GLOBAL_FLAGS.includes(flag)) {
      throw new UsageError(`${name} does not take --${flag}`);
    }
  }
  for (const flag of command.required) {
    if (values[flag as keyof Values] === undefined) throw new UsageError(`${name} needs --${flag}`);
  }
  if (values.remote && (values.local || values["persist-to"] !== undefined)) {
    throw new UsageError("--remote cannot be combined with --local or --persist-to");
  }
  return { help: false, command, values, args };
}

async function main(argv: string[]): Promise<number> {
  // Known before parsing, so that even a usage error answers in JSON when asked to.
  const json = argv.includes("--json");
  try {
    const parsed = parse(argv);
    if (parsed.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const { command, values, args } = parsed;
    const configPath = path.resolve(import.meta.dirname, "..", "wrangler.toml");
    const persistTo = values["persist-to"] ? fromOperatorCwd(values["persist-to"]) : undefined;
    const target: PlatformTarget = values.remote
      ? { configPath, remote: true }
      : { configPath, remote: false, persistTo };
    const output = await withPlatform(target, (bindings) =>
      command.run({ bindings }, values, args),
    );
    process.stdout.write(`${printable(output, json)}\n`);
    return 0;
  } catch (error) {
    const usage = error instanceof UsageError;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `admin: ${escapeControls(message)}\n${usage ? "Run `npm run admin -- --help` for usage.\n" : ""}`,
    );
    if (json) process.stdout.write(`${escapeControls(JSON.stringify({ error: message }))}\n`);
    return usage ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
