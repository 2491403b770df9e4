/**
 * `npm run load`: a bounded load and soak run on loopback (docs/load.md).
 *
 * Starts the worker (`wrangler dev`) and the Stripe double with their own temporary state
 * (scripts/lib/local-stack.ts), sends a mixed load for a fixed time with a fixed number of
 * concurrent clients, then reconciles what the clients were told with what D1 and the double
 * hold, prints one table, and exits non-zero on any loss, duplicate or unexpected status.
 * Everything it starts is stopped again, also on Ctrl-C and on errors.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import { type LocalStack, repoRoot, startLocalStack } from "./lib/local-stack.ts";
import type { DoubleSessionSummaries } from "./stripe-double-server.ts";

const run = promisify(execFile);
const wranglerJs = path.join(repoRoot, "node_modules", "wrangler", "bin", "wrangler.js");

const LIMITS = { seconds: 600, concurrency: 128 };
/** A hard bound on requests, whatever the machine manages in the time. */
const MAX_REQUESTS = 2_000_000;
/** No single request may hold a client longer than this. */
const REQUEST_TIMEOUT_MS = 30_000;
/** After the load stops: time for webhooks still on their way. */
const SETTLE_MS = 2_000;
/** Tenants reused across creates, so completions teach the worker customers it then reuses. */
const TENANT_POOL = Array.from({ length: 32 }, () => randomUUID());
const MAX_EXAMPLES = 8;

const USAGE = `usage: npm run load -- [--seconds N] [--concurrency N] [--rate-limits] [--verbose]
  --seconds N       how long the load runs (default 60, 1…${LIMITS.seconds}; env LOAD_SECONDS)
  --concurrency N   clients sending at once (default 16, 1…${LIMITS.concurrency}; env LOAD_CONCURRENCY)
  --rate-limits     keep the create rate limits of wrangler.toml (429 then counts as expected)
  --verbose         show the output of wrangler dev and the Stripe double`;

interface Settings {
  seconds: number;
  concurrency: number;
  rateLimits: boolean;
  verbose: boolean;
}

function parseSettings(argv: string[]): Settings {
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

// ---------------------------------------------------------------------------------------------
// What was sent and what came back

const KINDS = [
  "create",
  "create-twin",
  "repeat",
  "conflict",
  "read",
  "page",
  "page-wrong-state",
  "complete",
  "bad-request",
] as const;
type Kind = (typeof KINDS)[number];

/** Relative weights: 45 creates (40 single, 5 as simultaneous twins), then the brief's mix. */
const WEIGHTS: Record<Kind, number> = {
  create: 40,
  "create-twin": 5,
  repeat: 15,
  conflict: 5,
  read: 15,
  page: 8,
  "page-wrong-state": 2,
  complete: 10,
  "bad-request": 2,
};
const TOTAL_WEIGHT = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);

/** Latencies in buckets 2 % wide (from 1 µs to about 80 s): bounded memory, p50/p99 to ~2 %. */
class Histogram {
  private static readonly RATIO = Math.log(1.02);
  private readonly buckets = new Uint32Array(1000);
  count = 0;

  add(ms: number): void {
    const micros = Math.max(1, ms * 1000);
    const index = Math.min(this.buckets.length - 1, Math.floor(Math.log(micros) / Histogram.RATIO));
    this.buckets[index] = (this.buckets[index] ?? 0) + 1;
    this.count++;
  }

  merge(other: Histogram): void {
    other.buckets.forEach((n, i) => {
      this.buckets[i] = (this.buckets[i] ?? 0) + n;
    });
    this.count += other.count;
  }

  /** The upper edge of the bucket holding the q-quantile, in ms. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i] ?? 0;
      if (seen >= rank) return Math.exp((i + 1) * Histogram.RATIO) / 1000;
    }
    return Number.NaN;
  }
}

interface KindStats {
  count: number;
  statuses: Map<string, number>;
  latency: Histogram;
  /** Statuses outside what this kind may answer (any 5xx, network errors, timeouts). */
  unexpected: number;
  /** Expected status, wrong content (another id, another redirect target, a stale status). */
  wrong: number;
}

/** A checkout some create answered 200 for: what reconciliation and later requests need. */
interface Created {
  id: string;
  hash: string;
  url: string;
  state: string;
  path: string;
  body: Record<string, unknown>;
  /** open: never paid; paying: a completion is on its way; paid: the double answered 303. */
  phase: "open" | "paying" | "paid";
}

class Recorder {
  readonly stats = new Map<Kind, KindStats>(
    KINDS.map((kind) => [
      kind,
      { count: 0, statuses: new Map(), latency: new Histogram(), unexpected: 0, wrong: 0 },
    ]),
  );
  readonly created: Created[] = [];
  readonly examples: string[] = [];
  total = 0;
  /** Repeats and twins that got 200 with another id or hash than the original. */
  repeatMismatches = 0;
  repeatsCompared = 0;
  conflictsSent = 0;
  conflicts409 = 0;
  /** With --rate-limits: conflicts answered 429 before their state was looked at. */
  conflictsRateLimited = 0;
  /** Completions the double answered 303 for: the sessions that must end `complete`. */
  readonly completed: Created[] = [];
  /** Completions whose outcome is unknown (network error, timeout): the double may have paid. */
  completionsUnknown = 0;

  note(example: string): void {
    if (this.examples.length < MAX_EXAMPLES) this.examples.push(example);
  }

  record(kind: Kind, status: string, ms: number, expected: boolean, right = true): void {
    const stats = this.stats.get(kind);
    if (!stats) return;
    this.total++;
    stats.count++;
    stats.statuses.set(status, (stats.statuses.get(status) ?? 0) + 1);
    stats.latency.add(ms);
    if (!expected || status.startsWith("5")) stats.unexpected++;
    else if (!right) stats.wrong++;
  }
}

// ---------------------------------------------------------------------------------------------
// The load

interface Answer {
  status: string;
  headers: Headers | null;
  text: string;
  ms: number;
}

class LoadClient {
  private readonly apiHeaders: Record<string, string>;
  private readonly readHeaders: Record<string, string>;
  private readonly stack: LocalStack;
  private readonly rec: Recorder;
  private readonly settings: Settings;
  private readonly abort: AbortSignal;

  constructor(stack: LocalStack, rec: Recorder, settings: Settings, abort: AbortSignal) {
    this.stack = stack;
    this.rec = rec;
    this.settings = settings;
    this.abort = abort;
    this.apiHeaders = {
      "Content-Type": "application/json",
      "X-API-KEY": stack.writeKey,
      "X-API-KEY-TYPE": "write",
      "X-CLIENT-ID": stack.appId,
    };
    this.readHeaders = {
      "X-API-KEY": stack.readKey,
      "X-API-KEY-TYPE": "read",
      "X-CLIENT-ID": stack.appId,
    };
  }

  private async send(url: string, init: RequestInit): Promise<Answer> {
    const started = performance.now();
    try {
      const response = await fetch(url, {
        ...init,
        redirect: "manual",
        signal: AbortSignal.any([this.abort, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
      const text = await response.text();
      return {
        status: String(response.status),
        headers: response.headers,
        text,
        ms: performance.now() - started,
      };
    } catch (err) {
      const timeout = err instanceof DOMException && err.name === "TimeoutError";
      return {
        status: timeout ? "timeout" : "ERR",
        headers: null,
        text: String(err),
        ms: performance.now() - started,
      };
    }
  }

  /** 200, and with limits kept also 429, for the kinds that go through the create route. */
  private createStatuses(...statuses: string[]): string[] {
    return this.settings.rateLimits ? [...statuses, "429"] : statuses;
  }

  private pick(filter?: (c: Created) => boolean): Created | undefined {
    const { created } = this.rec;
    if (created.length === 0) return undefined;
    for (let attempt = 0; attempt < 8; attempt++) {
      const candidate = created[Math.floor(Math.random() * created.length)];
      if (candidate && (!filter || filter(candidate))) return candidate;
    }
    return undefined;
  }

  private post(pathName: string, body: string): Promise<Answer> {
    return this.send(`${this.stack.workerOrigin}${pathName}`, {
      method: "POST",
      headers: this.apiHeaders,
      body,
    });
  }

  async next(): Promise<void> {
    let roll = Math.random() * TOTAL_WEIGHT;
    let kind: Kind = "create";
    for (const k of KINDS) {
      roll -= WEIGHTS[k];
      if (roll < 0) {
        kind = k;
        break;
      }
    }
    switch (kind) {
      case "create":
        return this.create();
      case "create-twin":
        return this.createTwin();
      case "repeat":
        return this.repeat();
      case "conflict":
        return this.conflict();
      case "read":
        return this.read();
      case "page":
        return this.page();
      case "page-wrong-state":
        return this.pageWrongState();
      case "complete":
        return this.complete();
      case "bad-request":
        return this.badRequest();
    }
  }

  private newCheckout(): { path: string; body: Record<string, unknown> } {
    const subscription = Math.random() < 0.35;
    const reverseCharge = Math.random() < 0.2;
    // 30 % a new tenant, 30 % one of the pool (a known customer after a payment), 40 % none.
    const route = Math.random();
    const tenantId =
      route < 0.3
        ? randomUUID()
        : route < 0.6
          ? TENANT_POOL[Math.floor(Math.random() * TENANT_POOL.length)]
          : null;
    return {
      path: tenantId
        ? `/api/v1/tenants/${tenantId}/checkout-sessions`
        : "/api/v1/checkout-sessions",
      body: {
        price: subscription ? "price_eur_monthly" : "price_eur_once",
        quantity: 1 + Math.floor(Math.random() * 5),
        taxRate: reverseCharge ? "txr_reverse_charge_0" : "txr_vat_de_19",
        allowedCountry: ["DE", "AT", "FR", "NL", "IT"][Math.floor(Math.random() * 5)],
        paymentMethodType: Math.random() < 0.3 ? "sepa" : "card",
        billingAddressCollection: Math.random() < 0.5,
        mode: subscription ? "subscription" : "payment",
        isReverseCharge: reverseCharge,
        test: true,
        state: randomBytes(32).toString("hex"),
      },
    };
  }

  /** The checkout in a 200 answer, or null (and the reason noted) if it is not one. */
  private checkoutOf(answer: Answer): { id: string; hash: string; url: string } | null {
    try {
      const parsed = JSON.parse(answer.text) as {
        data?: { checkout?: { id?: unknown; hash?: unknown; nextAction?: { url?: unknown } } };
      };
      const checkout = parsed.data?.checkout;
      if (
        typeof checkout?.id === "string" &&
        checkout.id.startsWith("cs_") &&
        typeof checkout.hash === "string" &&
        typeof checkout.nextAction?.url === "string"
      ) {
        return { id: checkout.id, hash: checkout.hash, url: checkout.nextAction.url };
      }
    } catch {
      // noted below
    }
    this.rec.note(`200 without a checkout: ${answer.text.slice(0, 200)}`);
    return null;
  }

  private remember(path: string, body: Record<string, unknown>, answer: Answer): boolean {
    const checkout = this.checkoutOf(answer);
    if (!checkout) return false;
    this.rec.created.push({ ...checkout, state: String(body.state), path, body, phase: "open" });
    return true;
  }

  private async create(): Promise<void> {
    const { path, body } = this.newCheckout();
    const answer = await this.post(path, JSON.stringify(body));
    const expected = this.createStatuses("200").includes(answer.status);
    const right = answer.status !== "200" || this.remember(path, body, answer);
    if (!expected) this.rec.note(`create ${answer.status}: ${answer.text.slice(0, 200)}`);
    this.rec.record("create", answer.status, answer.ms, expected, right);
  }

  /** The same new checkout twice at the same moment: one checkout, both told the same. */
  private async createTwin(): Promise<void> {
    const { path, body } = this.newCheckout();
    const text = JSON.stringify(body);
    const answers = await Promise.all([this.post(path, text), this.post(path, text)]);
    const [first, second] = answers as [Answer, Answer];
    const allowed = this.createStatuses("200");
    let right = true;
    if (first.status === "200" && second.status === "200") {
      const a = this.checkoutOf(first);
      const b = this.checkoutOf(second);
      this.rec.repeatsCompared++;
      if (!a || !b || a.id !== b.id || a.hash !== b.hash || a.url !== b.url) {
        this.rec.repeatMismatches++;
        right = false;
        this.rec.note(`twins differ: ${a?.id}/${a?.hash} vs ${b?.id}/${b?.hash}`);
      }
      if (a) this.rec.created.push({ ...a, state: String(body.state), path, body, phase: "open" });
    } else {
      const ok = answers.find((answer) => answer.status === "200");
      if (ok) this.remember(path, body, ok);
    }
    for (const answer of answers) {
      const expected = allowed.includes(answer.status);
      if (!expected) this.rec.note(`create-twin ${answer.status}: ${answer.text.slice(0, 200)}`);
      this.rec.record("create-twin", answer.status, answer.ms, expected, right);
    }
  }

  private async repeat(): Promise<void> {
    const original = this.pick();
    if (!original) return this.create();
    const answer = await this.post(original.path, JSON.stringify(original.body));
    const expected = this.createStatuses("200").includes(answer.status);
    let right = true;
    if (answer.status === "200") {
      const again = this.checkoutOf(answer);
      this.rec.repeatsCompared++;
      if (
        !again ||
        again.id !== original.id ||
        again.hash !== original.hash ||
        again.url !== original.url
      ) {
        this.rec.repeatMismatches++;
        right = false;
        this.rec.note(`repeat of ${original.id} answered ${again?.id}/${again?.hash}`);
      }
    } else if (!expected) {
      this.rec.note(`repeat ${answer.status}: ${answer.text.slice(0, 200)}`);
    }
    this.rec.record("repeat", answer.status, answer.ms, expected, right);
  }

  private async conflict(): Promise<void> {
    const original = this.pick();
    if (!original) return this.create();
    const quantity = Number(original.body.quantity) + 1;
    const answer = await this.post(original.path, JSON.stringify({ ...original.body, quantity }));
    const expected = this.createStatuses("409").includes(answer.status);
    this.rec.conflictsSent++;
    if (answer.status === "409") this.rec.conflicts409++;
    if (answer.status === "429" && this.settings.rateLimits) this.rec.conflictsRateLimited++;
    if (!expected) this.rec.note(`conflict ${answer.status}: ${answer.text.slice(0, 200)}`);
    this.rec.record("conflict", answer.status, answer.ms, expected);
  }

  private async read(): Promise<void> {
    const checkout = this.pick();
    if (!checkout) return this.create();
    const phaseBefore = checkout.phase;
    const answer = await this.send(
      `${this.stack.workerOrigin}/api/v1/checkout-sessions/${checkout.id}`,
      { headers: this.readHeaders },
    );
    let right = true;
    if (answer.status === "200") {
      let got: { id?: unknown; status?: unknown } | undefined;
      try {
        got = (JSON.parse(answer.text) as { data?: { checkout?: typeof got } }).data?.checkout;
      } catch {
        got = undefined;
      }
      // Paid before the read was sent: complete (webhooks come first). Open before and after
      // (no payment started meanwhile): open. A payment on its way meanwhile: either.
      const wantStatus =
        phaseBefore === "paid"
          ? "complete"
          : phaseBefore === "open" && checkout.phase === "open"
            ? "open"
            : null;
      if (got?.id !== checkout.id || (wantStatus && got.status !== wantStatus)) {
        right = false;
        this.rec.note(
          `read ${checkout.id} (${phaseBefore}) answered ${String(got?.id)} ${String(got?.status)}`,
        );
      }
    } else {
      this.rec.note(`read ${answer.status}: ${answer.text.slice(0, 200)}`);
    }
    this.rec.record("read", answer.status, answer.ms, answer.status === "200", right);
  }

  private async page(): Promise<void> {
    const checkout = this.pick();
    if (!checkout) return this.create();
    const phaseBefore = checkout.phase;
    const answer = await this.send(`${checkout.url}?state=${checkout.state}`, {});
    // As for reads: only a payment that started or ended during the request allows either.
    const allowed =
      phaseBefore === "paid"
        ? ["410"]
        : phaseBefore === "open" && checkout.phase === "open"
          ? ["303"]
          : ["303", "410"];
    const expected = allowed.includes(answer.status);
    let right = true;
    if (answer.status === "303") {
      const location = answer.headers?.get("Location");
      if (location !== `${this.stack.stripeOrigin}/c/pay/${checkout.id}`) {
        right = false;
        this.rec.note(`page of ${checkout.id} went to ${location}`);
      }
    }
    if (!expected) this.rec.note(`page (${phaseBefore}) ${answer.status}`);
    this.rec.record("page", answer.status, answer.ms, expected, right);
  }

  private async pageWrongState(): Promise<void> {
    const checkout = this.pick();
    if (!checkout) return this.create();
    const answer = await this.send(`${checkout.url}?state=${randomBytes(32).toString("hex")}`, {});
    if (answer.status !== "404") this.rec.note(`page with a wrong state ${answer.status}`);
    this.rec.record("page-wrong-state", answer.status, answer.ms, answer.status === "404");
  }

  /** Pays at the double's hosted page, which first delivers the signed webhooks to the worker. */
  private async complete(): Promise<void> {
    const checkout = this.pick((c) => c.phase === "open");
    if (!checkout) return this.create();
    checkout.phase = "paying";
    const answer = await this.send(`${this.stack.stripeOrigin}/c/pay/${checkout.id}/pay`, {
      method: "POST",
    });
    let right = true;
    if (answer.status === "303") {
      checkout.phase = "paid";
      this.rec.completed.push(checkout);
      const location = answer.headers?.get("Location") ?? "";
      if (!location.includes(`session_id=${checkout.id}`)) {
        right = false;
        this.rec.note(`payment of ${checkout.id} went to ${location}`);
      }
    } else {
      if (answer.status === "ERR" || answer.status === "timeout") this.rec.completionsUnknown++;
      this.rec.note(`complete ${checkout.id} ${answer.status}: ${answer.text.slice(0, 200)}`);
    }
    this.rec.record("complete", answer.status, answer.ms, answer.status === "303", right);
  }

  private async badRequest(): Promise<void> {
    const { path, body } = this.newCheckout();
    const variants = [
      JSON.stringify({ ...body, quantity: 0 }),
      JSON.stringify({ ...body, state: "short" }),
      JSON.stringify({ ...body, coupon: "FREE" }),
      JSON.stringify({ ...body, paymentMethodType: "sofort" }),
      JSON.stringify(body).slice(0, 40),
    ];
    const text = variants[Math.floor(Math.random() * variants.length)] ?? "{";
    const answer = await this.post(path, text);
    const expected = this.createStatuses("400").includes(answer.status);
    if (!expected) this.rec.note(`bad request ${answer.status}: ${answer.text.slice(0, 200)}`);
    this.rec.record("bad-request", answer.status, answer.ms, expected);
  }
}

// ---------------------------------------------------------------------------------------------
// Reconciliation

interface Row {
  id: string;
  hash: string;
  stripe_session_id: string | null;
  state_digest: string;
  status: string;
  payment_status: string | null;
}

interface Check {
  name: string;
  pass: boolean;
  figures: string;
}

async function queryRows(stack: LocalStack): Promise<Row[]> {
  const sql =
    "SELECT id, hash, stripe_session_id, state_digest, status, payment_status FROM checkout_sessions";
  const { stdout } = await run(
    process.execPath,
    [
      wranglerJs,
      "d1",
      "execute",
      "DB",
      "--local",
      "--config",
      stack.configPath,
      "--persist-to",
      stack.persistDir,
      "--json",
      "--command",
      sql,
    ],
    {
      cwd: path.dirname(stack.configPath),
      env: { ...process.env, FORCE_COLOR: "0", WRANGLER_SEND_METRICS: "false" },
      maxBuffer: 1024 * 1024 * 1024,
    },
  );
  const parsed = JSON.parse(stdout.slice(stdout.indexOf("["))) as { results: Row[] }[];
  return parsed.flatMap((result) => result.results);
}

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

function reconcile(rec: Recorder, rows: Row[], double: DoubleSessionSummaries): Check[] {
  const checks: Check[] = [];
  const rowsByHash = new Map(rows.map((row) => [row.hash, row]));
  const digestCounts = new Map<string, number>();
  for (const row of rows)
    digestCounts.set(row.state_digest, (digestCounts.get(row.state_digest) ?? 0) + 1);
  const sharedDigests = [...digestCounts.values()].filter((n) => n > 1).length;
  const sentDigests = new Set(rec.created.map((c) => sha256Hex(c.state)));

  // 1. Every 200 create has exactly one row, and one row per distinct state.
  let missing = 0;
  for (const c of rec.created) {
    const row = rowsByHash.get(c.hash);
    if (!row || row.stripe_session_id !== c.id || row.state_digest !== sha256Hex(c.state)) {
      missing++;
      rec.note(`create ${c.id}/${c.hash} has no matching row`);
    }
  }
  const extraRows = rows.filter((row) => !sentDigests.has(row.state_digest)).length;
  checks.push({
    name: "1 a row per created checkout",
    pass: missing === 0 && sharedDigests === 0 && extraRows === 0,
    figures: `${rec.created.length} states created, ${rows.length} rows; missing ${missing}, rows of no create ${extraRows}, states with >1 row ${sharedDigests}`,
  });

  // 2. Every row has exactly one session at the double, and the double none without a row.
  const sessionsById = new Map(double.sessions.map((s) => [s.id, s]));
  const rowIds = new Set(rows.map((row) => row.stripe_session_id));
  let rowsWithoutSession = 0;
  for (const row of rows) {
    const session = row.stripe_session_id ? sessionsById.get(row.stripe_session_id) : undefined;
    if (!session || session.checkoutHash !== row.hash) rowsWithoutSession++;
  }
  const orphanSessions = double.sessions.filter((s) => !rowIds.has(s.id)).length;
  const hashCounts = new Map<string, number>();
  for (const s of double.sessions)
    hashCounts.set(s.checkoutHash ?? "", (hashCounts.get(s.checkoutHash ?? "") ?? 0) + 1);
  const duplicateSessions = [...hashCounts.values()].filter((n) => n > 1).length;
  checks.push({
    name: "2 one Stripe session per row",
    pass:
      rowsWithoutSession === 0 &&
      orphanSessions === 0 &&
      duplicateSessions === 0 &&
      double.sessions.length === rows.length,
    figures: `${double.sessions.length} sessions at the double (${double.createRequests} create calls), ${rows.length} rows; rows without session ${rowsWithoutSession}, sessions without row ${orphanSessions}, hashes with >1 session ${duplicateSessions}`,
  });

  // 3. Nothing left pending.
  const byStatus = new Map<string, number>();
  for (const row of rows) byStatus.set(row.status, (byStatus.get(row.status) ?? 0) + 1);
  const pending = byStatus.get("pending") ?? 0;
  checks.push({
    name: "3 no row left pending",
    pass: pending === 0,
    figures: [...byStatus].map(([status, n]) => `${status} ${n}`).join(", ") || "no rows",
  });

  // 4. Every session paid at the double is complete (and paid) in D1: webhooks applied.
  let notComplete = 0;
  for (const c of rec.completed) {
    const row = rowsByHash.get(c.hash);
    if (row?.status !== "complete" || row.payment_status !== "paid") {
      notComplete++;
      rec.note(`paid ${c.id} is ${row?.status}/${row?.payment_status} in D1`);
    }
  }
  const completeRows = byStatus.get("complete") ?? 0;
  const completeAtDouble = double.sessions.filter((s) => s.status === "complete").length;
  checks.push({
    name: "4 payments reached D1",
    pass:
      notComplete === 0 &&
      completeRows === rec.completed.length &&
      completeAtDouble === rec.completed.length,
    figures: `${rec.completed.length} paid at the double (${completeAtDouble} complete there), ${completeRows} rows complete; not complete+paid ${notComplete}${rec.completionsUnknown ? `, outcome unknown ${rec.completionsUnknown}` : ""}`,
  });

  // 5. Repeats told the original; conflicts were refused.
  checks.push({
    name: "5 repeats same, conflicts 409",
    pass:
      rec.repeatMismatches === 0 &&
      rec.conflicts409 === rec.conflictsSent - rec.conflictsRateLimited,
    figures: `${rec.repeatsCompared - rec.repeatMismatches}/${rec.repeatsCompared} repeats and twins same id+hash, ${rec.conflicts409}/${rec.conflictsSent - rec.conflictsRateLimited} conflicts 409${rec.conflictsRateLimited ? ` (${rec.conflictsRateLimited} more rate limited)` : ""}`,
  });

  // 6. Every answer was one its request may get.
  let unexpected = 0;
  let wrong = 0;
  let serverErrors = 0;
  for (const stats of rec.stats.values()) {
    unexpected += stats.unexpected;
    wrong += stats.wrong;
    for (const [status, n] of stats.statuses) if (status.startsWith("5")) serverErrors += n;
  }
  checks.push({
    name: "6 only expected answers",
    pass: unexpected === 0 && wrong === 0,
    figures: `unexpected statuses ${unexpected} (5xx ${serverErrors}), wrong content ${wrong}`,
  });
  return checks;
}

// ---------------------------------------------------------------------------------------------
// The table

function formatMs(ms: number): string {
  return Number.isNaN(ms)
    ? "-"
    : ms < 10
      ? ms.toFixed(2)
      : ms < 100
        ? ms.toFixed(1)
        : ms.toFixed(0);
}

function renderTable(
  rec: Recorder,
  settings: Settings,
  elapsedSeconds: number,
  checks: Check[],
): string {
  const lines: string[] = [];
  const rule = "-".repeat(100);
  const all = new Histogram();
  for (const stats of rec.stats.values()) all.merge(stats.latency);
  lines.push(rule);
  lines.push(
    `requests ${rec.total}   duration ${elapsedSeconds.toFixed(1)} s   concurrency ${settings.concurrency}   ${(rec.total / elapsedSeconds).toFixed(1)} requests/s   rate limits ${settings.rateLimits ? "kept" : "lifted"}`,
  );
  lines.push(rule);
  lines.push(
    `${"kind".padEnd(18)}${"count".padStart(8)}  ${"statuses".padEnd(34)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}${"unexpected".padStart(12)}${"wrong".padStart(7)}`,
  );
  let unexpected = 0;
  let wrong = 0;
  for (const [kind, stats] of rec.stats) {
    unexpected += stats.unexpected;
    wrong += stats.wrong;
    const statuses = [...stats.statuses]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, n]) => `${status}×${n}`)
      .join(" ");
    lines.push(
      `${kind.padEnd(18)}${String(stats.count).padStart(8)}  ${(statuses || "-").padEnd(34)}${formatMs(stats.latency.quantile(0.5)).padStart(9)}${formatMs(stats.latency.quantile(0.99)).padStart(9)}${String(stats.unexpected).padStart(12)}${String(stats.wrong).padStart(7)}`,
    );
  }
  lines.push(
    `${"all".padEnd(18)}${String(rec.total).padStart(8)}  ${"".padEnd(34)}${formatMs(all.quantile(0.5)).padStart(9)}${formatMs(all.quantile(0.99)).padStart(9)}${String(unexpected).padStart(12)}${String(wrong).padStart(7)}`,
  );
  lines.push(rule);
  for (const check of checks) {
    lines.push(
      `${check.name.padEnd(32)}${(check.pass ? "PASS" : "FAIL").padEnd(6)}${check.figures}`,
    );
  }
  lines.push(rule);
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Run

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
};
`,
  );
  return entry;
}

async function main(): Promise<number> {
  let settings: Settings;
  try {
    settings = parseSettings(process.argv.slice(2));
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  console.log(
    `load: ${settings.seconds} s, concurrency ${settings.concurrency}, create rate limits ${settings.rateLimits ? "kept (429 expected on creates)" : "lifted"}, loopback only`,
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
  try {
    say("starting wrangler dev and the Stripe double on loopback (about 30 s)");
    stack = await startLocalStack({
      main: settings.rateLimits ? undefined : writeUnlimitedEntry(entryDir),
      verbose: settings.verbose,
    });
    if (interrupted) return 130;
    say(`worker ${stack.workerOrigin}, Stripe double ${stack.stripeOrigin}`);

    const rec = new Recorder();
    const client = new LoadClient(stack, rec, settings, abort.signal);
    const started = performance.now();
    const deadline = started + settings.seconds * 1000;
    const progress = setInterval(() => {
      say(`${Math.round((performance.now() - started) / 1000)} s: ${rec.total} requests`);
    }, 10_000);
    try {
      await Promise.all(
        Array.from({ length: settings.concurrency }, async () => {
          while (!abort.signal.aborted && performance.now() < deadline && rec.total < MAX_REQUESTS)
            await client.next();
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
    const rows = await queryRows(stack);
    const checks = reconcile(rec, rows, double);

    if (rec.examples.length > 0) {
      say("first findings:");
      for (const example of rec.examples) say(`  ${example}`);
    }
    console.log(renderTable(rec, settings, elapsedSeconds, checks));
    const passed = checks.every((check) => check.pass);
    console.log(passed ? "load: PASS" : "load: FAIL");
    return passed ? 0 : 1;
  } finally {
    if (stack) {
      say("stopping wrangler dev and the Stripe double");
      await stack.stop();
    }
    rmSync(entryDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`load: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
