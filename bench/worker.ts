/**
 * The bench's own worker entry: the real app, plus routes that exist only here (never in
 * the deployed worker, whose entry is src/index.ts):
 *   POST /__bench/io         the I/O the issue names as the floor and nothing else: one KV read,
 *                            one Stripe SDK create (through the same gateway), one D1 insert;
 *                            `?add=` adds pieces of the design's own I/O (below);
 *   POST /__bench/io-design  all of those pieces: the create route's I/O without its logic;
 *   POST /__bench/seed       inserts N checkout rows in one statement, for the growth measurement
 *                            (sent with `X-Bench-Database: seeded`, below).
 */
import { type Context, Hono } from "hono";
import { createApp } from "../src/app.ts";
import { kvKeys } from "../src/apps/records.ts";
import { findKeyByDigest } from "../src/apps/store.ts";
import type { Bindings, HonoEnv } from "../src/env.ts";
import { createStripeGateway } from "../src/stripe/client.ts";

const bench = new Hono<HonoEnv>();

/**
 * I/O without logic, in pieces. `/__bench/io` is the floor the issue names: one KV read, one
 * Stripe create, one D1 insert. `?add=` adds pieces of what this service's design needs on top
 * (docs/decisions.md), so their cost shows one by one:
 *   cached      the key record read through the isolate cache (src/apps/store.ts), as the
 *               create route reads it, instead of a KV read every time;
 *   ratelimits  both rate-limit checks of the create route (SPEC: operations);
 *   reserve     the state reserved in D1 before Stripe (INSERT … RETURNING) and the session
 *               recorded after it (UPDATE), instead of one insert;
 *   log         the request's JSON log line (SPEC: operations), written as src/middleware/logging.ts
 *               writes it. Locally, wrangler dev carries each line to its own process.
 * `/__bench/io-design` is all of them: the create route's I/O, so create ÷ io-design is our
 * own logic alone.
 */
type Piece = "cached" | "ratelimits" | "reserve" | "log";
const ALL_PIECES: readonly Piece[] = ["cached", "ratelimits", "reserve", "log"];

async function ioOnly(c: Context<HonoEnv>, pieces: ReadonlySet<Piece>) {
  const env = c.env as Bindings;
  if (pieces.has("ratelimits")) await env.CREATE_LIMIT_PER_ADDRESS.limit({ key: "bench" });
  const digest = c.req.header("X-Bench-Key-Digest") ?? "";
  const appId = c.req.header("X-CLIENT-ID") ?? "";
  const key = pieces.has("cached")
    ? await findKeyByDigest(env.APPS, digest)
    : await env.APPS.get(kvKeys.apiKey(digest), "json");
  if (!key) return c.json({ error: "unknown key" }, 400);
  if (pieces.has("ratelimits")) await env.CREATE_LIMIT_PER_CREDENTIAL.limit({ key: digest });
  const now = Math.floor(Date.now() / 1000);
  const id = crypto.randomUUID();
  const insert = `INSERT INTO checkout_sessions (id, hash, app_id, livemode, state_digest, request_fingerprint, status,
       stripe_session_id, stripe_url, mode, price, quantity, tax_rate, allowed_country, payment_method,
       billing_address_collection, reverse_charge, created_at, updated_at, expires_at)
     VALUES (?1, ?1, ?2, 0, ?1, 'f', ?3, ?4, ?5, 'payment', 'price_eur_once', 1, 'txr_vat_de_19', 'DE', 'card', 1, 0, ?6, ?6, ?7)`;
  if (pieces.has("reserve")) {
    await env.DB.prepare(`${insert} RETURNING *`)
      .bind(id, appId, "pending", null, null, now, now + 3600)
      .first();
  }
  const stripe = createStripeGateway({
    secretKey: env.STRIPE_SECRET_KEY_TEST ?? "",
    apiBaseUrl: env.STRIPE_API_BASE_URL ?? "",
    timeoutMs: 8000,
    maxNetworkRetries: 1,
  });
  const session = await stripe.createCheckoutSession(
    {
      mode: "payment",
      success_url: "https://app.example/success?session_id={CHECKOUT_SESSION_ID}",
      cancel_url: "https://app.example/cancel",
      allowed_payment_method_types: ["card"],
      billing_address_collection: "required",
      expires_at: now + 3600,
      metadata: { app_id: appId, checkout_hash: id },
      line_items: [{ price: "price_eur_once", quantity: 1, tax_rates: ["txr_vat_de_19"] }],
      shipping_address_collection: { allowed_countries: ["DE"] },
      payment_intent_data: { metadata: { app_id: appId, checkout_hash: id } },
      invoice_creation: { enabled: true },
      customer_creation: "always",
    },
    { idempotencyKey: id, stripeAccount: null },
  );
  if (pieces.has("reserve")) {
    await env.DB.prepare(
      "UPDATE checkout_sessions SET status = 'open', stripe_session_id = ?2, stripe_url = ?3 WHERE id = ?1",
    )
      .bind(id, session.id, session.url)
      .run();
  } else {
    await env.DB.prepare(insert)
      .bind(id, appId, "open", session.id, session.url, now, now + 3600)
      .run();
  }
  if (pieces.has("log")) {
    console.info(
      JSON.stringify({
        requestId: id,
        method: "POST",
        route: "/__bench/io",
        status: 200,
        durationMs: Date.now() - now * 1000,
        appId,
      }),
    );
  }
  return c.json({ id: session.id });
}

bench.post("/__bench/io", (c) => {
  const pieces = new Set((c.req.query("add") ?? "").split(",").filter(Boolean));
  const unknown = [...pieces].filter((piece) => !ALL_PIECES.includes(piece as Piece));
  if (unknown.length > 0) return c.json({ error: `unknown pieces: ${unknown.join(", ")}` }, 400);
  return ioOnly(c, pieces as Set<Piece>);
});
bench.post("/__bench/io-design", (c) => ioOnly(c, new Set(ALL_PIECES)));

bench.post("/__bench/seed", async (c) => {
  const count = Math.min(Number(c.req.query("count") ?? "0"), 250_000);
  const appId = c.req.query("app") ?? "";
  const now = Math.floor(Date.now() / 1000);
  // Like a long-running deployment: half the rows are the benchmarked app's own (in test mode,
  // where its new checkouts go), half other apps', in every status, spread over a year. Ids,
  // hashes, state digests and session ids are random, as real ones are, so new keys land all
  // over each index rather than next to a seeded cluster.
  const result = await (c.env as Bindings).DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO checkout_sessions (id, hash, app_id, tenant_id, livemode, state_digest, request_fingerprint, status,
       stripe_session_id, stripe_url, mode, price, quantity, tax_rate, allowed_country, payment_method,
       billing_address_collection, reverse_charge, created_at, updated_at, expires_at)
     SELECT lower(hex(randomblob(16))), lower(hex(randomblob(16))),
       CASE i % 2 WHEN 0 THEN ?2 ELSE 'app-' || (i % 500) END, 'tenant-' || (i % 20000),
       CASE i % 2 WHEN 0 THEN 0 ELSE i % 3 % 2 END, lower(hex(randomblob(32))), 'f',
       CASE i % 3 WHEN 0 THEN 'open' WHEN 1 THEN 'complete' ELSE 'expired' END,
       'cs_seed_' || lower(hex(randomblob(12))), 'https://checkout.stripe.test/' || i, 'payment', 'price_eur_once', 1, 'txr_vat_de_19', 'DE', 'card', 0, 0,
       ?3 - (i % 31536000), ?3 - (i % 31536000), ?3 - (i % 31536000) + 3600
     FROM n`,
  )
    .bind(count, appId, now)
    .run();
  return c.json({ inserted: result.meta.changes });
});

bench.route("/", createApp());

/** Rows SQLite read and wrote for one request, summed over its statements (D1's `meta`). */
interface RowCount {
  read: number;
  written: number;
}

/**
 * `db` with every statement's rows read and written added to `count`. `first()` runs as
 * `all()` (the same statement; `first` drops the meta). Statements go to `batch` unwrapped.
 */
function countingDb(db: D1Database, count: RowCount): D1Database {
  const add = (meta: D1Meta | undefined) => {
    count.read += meta?.rows_read ?? Number.NaN;
    count.written += meta?.rows_written ?? Number.NaN;
  };
  const unwrapped = new WeakMap<object, D1PreparedStatement>();
  const counted = (statement: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(statement, {
      get(target, prop) {
        switch (prop) {
          case "bind":
            return (...values: unknown[]) => counted(target.bind(...values));
          case "run":
          case "all":
            return async () => {
              const result = await target[prop]();
              add(result.meta);
              return result;
            };
          case "first":
            return async (column?: string) => {
              const result = await target.all<Record<string, unknown>>();
              add(result.meta);
              const row = result.results[0];
              if (row === undefined) return null;
              return column === undefined ? row : row[column];
            };
          default:
            throw new Error(`countingDb: D1PreparedStatement.${String(prop)} is not counted`);
        }
      },
    });
    unwrapped.set(proxy, statement);
    return proxy;
  };
  return new Proxy(db, {
    get(target, prop) {
      switch (prop) {
        case "prepare":
          return (sql: string) => counted(target.prepare(sql));
        case "batch":
          return async (statements: D1PreparedStatement[]) => {
            const results = await target.batch(statements.map((s) => unwrapped.get(s) ?? s));
            for (const result of results) add(result.meta);
            return results;
          };
        default:
          throw new Error(`countingDb: D1Database.${String(prop)} is not counted`);
      }
    },
  });
}

/**
 * The bench's config has a second D1 database, DB_SEEDED, holding the growth figure's 1,000,000
 * rows. A request marked `X-Bench-Database: seeded` is served with it as DB, so the growth
 * figure compares the empty and the seeded table side by side. A request marked
 * `X-Bench-Count-Rows` is answered with `X-Bench-D1-Rows: <read> <written>`, the rows SQLite
 * read and wrote for it: the growth figure's clock-free part.
 */
type BenchBindings = Bindings & { DB_SEEDED?: D1Database };

export default {
  async fetch(request, env, ctx) {
    const seeded = request.headers.get("X-Bench-Database") === "seeded";
    if (seeded && !env.DB_SEEDED) return new Response("DB_SEEDED is not bound", { status: 500 });
    const db = seeded ? (env.DB_SEEDED as D1Database) : env.DB;
    if (!request.headers.has("X-Bench-Count-Rows")) {
      return bench.fetch(request, seeded ? { ...env, DB: db } : env, ctx);
    }
    const count: RowCount = { read: 0, written: 0 };
    const response = await bench.fetch(request, { ...env, DB: countingDb(db, count) }, ctx);
    const answered = new Response(response.body, response);
    answered.headers.set("X-Bench-D1-Rows", `${count.read} ${count.written}`);
    return answered;
  },
} satisfies ExportedHandler<BenchBindings>;
