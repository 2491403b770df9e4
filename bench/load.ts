/**
 * What the bench and the profiler send: the requests (create, the two I/O floors, the payment
 * page, Stripe directly) and `drive`, which sends one of them from N concurrent loops.
 */
import { createHash, randomBytes } from "node:crypto";
import type { LocalStack } from "../scripts/lib/local-stack.ts";
import { exampleCreateBody } from "../src/schemas/example-body.ts";
import type { CpuReading } from "./cpu.ts";

export interface Sample {
  count: number;
  seconds: number;
  latencies: number[];
  errors: number;
}

export type Send = () => Promise<boolean>;

export const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};
export const median = (values: number[]) => percentile(values, 50);
export const throughput = (s: Sample) => s.count / s.seconds;

/** Runs `send` from `concurrency` loops until `seconds` passed or `maxCount` requests were made. */
export async function drive(
  send: Send,
  concurrency: number,
  seconds: number,
  maxCount = Number.POSITIVE_INFINITY,
): Promise<Sample> {
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline && issued < maxCount) {
        issued += 1;
        const t = performance.now();
        const ok = await send().catch(() => false);
        latencies.push(performance.now() - t);
        if (!ok) errors += 1;
      }
    }),
  );
  // A figure made of failed requests measures nothing: stop rather than print it.
  if (errors > 0)
    throw new Error(`${errors} of ${latencies.length} requests failed during a measurement`);
  return { count: latencies.length, seconds: (performance.now() - t0) / 1000, latencies, errors };
}

/** Runs `work`, with the CPU a meter (bench/cpu.ts) saw spent meanwhile; null without one. */
export async function metered<T>(
  meter: (() => CpuReading) | null | undefined,
  work: () => Promise<T>,
): Promise<{ result: T; spent: CpuReading | null }> {
  const before = meter?.();
  const result = await work();
  const after = meter?.();
  const spent =
    before && after
      ? { total: after.total - before.total, mainThread: after.mainThread - before.mainThread }
      : null;
  return { result, spent };
}

/** "min–max" of some ratios, as the figures print their ranges. */
export const spread = (values: number[]) =>
  `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;

/**
 * Throughput of each kind in `rounds` short rounds, the order rotating from round to round.
 * This machine's speed drifts within seconds, so ratios are taken within a round (`ratio`).
 * With a `meter` (bench/cpu.ts), each round also records the runtime's CPU ms per request.
 */
export async function interleavedRounds<K extends string>(
  kinds: Record<K, Send>,
  rounds: number,
  concurrency: number,
  seconds: number,
  meter?: (() => CpuReading) | null,
): Promise<{ rates: Record<K, number>[]; cpuMs: Record<K, number>[]; mainThreadShare: number }> {
  const names = Object.keys(kinds) as K[];
  const rates: Record<K, number>[] = [];
  const cpuMs: Record<K, number>[] = [];
  const spent: CpuReading = { total: 0, mainThread: 0 };
  for (let round = 0; round < rounds; round++) {
    const rate = {} as Record<K, number>;
    const cpu = {} as Record<K, number>;
    for (let i = 0; i < names.length; i++) {
      const kind = names[(i + round) % names.length] as K;
      const { result: sample, spent: used } = await metered(meter, () =>
        drive(kinds[kind], concurrency, seconds),
      );
      rate[kind] = throughput(sample);
      if (used) {
        cpu[kind] = (used.total * 1000) / sample.count;
        spent.total += used.total;
        spent.mainThread += used.mainThread;
      }
    }
    rates.push(rate);
    if (meter) cpuMs.push(cpu);
  }
  return { rates, cpuMs, mainThreadShare: spent.mainThread / spent.total };
}

/**
 * One client sending `a` and `b` in turn for `seconds`. Neighbouring requests meet the same
 * machine, so comparing their latencies leaves out this machine's drift, which rounds of
 * seconds cannot (their ratios of unchanged code spread over ±25% here). The latencies are
 * returned in sending order, so they can be cut into blocks for a range.
 */
export async function alternating(a: Send, b: Send, seconds: number) {
  const latencies = { a: [] as number[], b: [] as number[] };
  const deadline = performance.now() + seconds * 1000;
  for (let i = 0; performance.now() < deadline; i++) {
    const kind = i % 2 === 0 ? "a" : "b";
    const t = performance.now();
    const ok = await (kind === "a" ? a : b)().catch(() => false);
    if (!ok) throw new Error(`a request failed during an alternating measurement (${kind})`);
    latencies[kind].push(performance.now() - t);
  }
  return latencies;
}

/**
 * top ÷ bottom within each round: the median, its range, and the two medians (`rates`, as
 * req/s, or as ms with `unit: "ms"`).
 */
export function ratio<K extends string>(
  rounds: Record<K, number>[],
  top: K,
  bottom: K,
  unit: "req/s" | "ms" = "req/s",
) {
  const ratios = rounds.map((r) => r[top] / r[bottom]);
  const digits = unit === "ms" ? 2 : 0;
  return {
    value: median(ratios),
    range: spread(ratios),
    rates: `${median(rounds.map((r) => r[top])).toFixed(digits)} / ${median(rounds.map((r) => r[bottom])).toFixed(digits)} ${unit}`,
  };
}

/**
 * The requests, against a stack started with the bench's entry (bench/worker.ts). With
 * `database: "seeded"`, creates and payment pages are served from the bench's seeded database.
 * With `countRows`, the worker counts the D1 rows each create and page read and wrote, and
 * they are collected in `d1Rows` ("<read> <written>" per request).
 */
export function benchRequests(
  stack: LocalStack,
  database: "default" | "seeded" = "default",
  countRows = false,
) {
  const databaseHeaders: Record<string, string> = {
    ...(database === "seeded" ? { "X-Bench-Database": "seeded" } : {}),
    ...(countRows ? { "X-Bench-Count-Rows": "1" } : {}),
  };
  const d1Rows = { create: [] as string[], page: [] as string[] };
  const counted = (r: Response, into: string[]) => {
    const rows = r.headers.get("X-Bench-D1-Rows");
    if (rows !== null) into.push(rows);
  };
  const keyHeaders = {
    "X-API-KEY": stack.writeKey,
    "X-API-KEY-TYPE": "write",
    "X-CLIENT-ID": stack.appId,
    ...databaseHeaders,
  };
  const digest = createHash("sha256").update(stack.writeKey).digest("hex");
  const body = (state: string) => JSON.stringify(exampleCreateBody(state));
  const pages: string[] = [];
  const create: Send = async () => {
    const state = randomBytes(32).toString("hex");
    const r = await fetch(`${stack.workerOrigin}/api/v1/checkout-sessions`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...keyHeaders },
      body: body(state),
    });
    counted(r, d1Rows.create);
    const json = (await r.json()) as { data?: { checkout?: { nextAction: { url: string } } } };
    if (r.status === 200 && json.data?.checkout && pages.length < 2000)
      pages.push(`${json.data.checkout.nextAction.url}?state=${state}`);
    return r.status === 200;
  };
  const ioAt =
    (route: string): Send =>
    async () => {
      const r = await fetch(`${stack.workerOrigin}${route}`, {
        method: "POST",
        headers: { ...keyHeaders, "X-Bench-Key-Digest": digest },
      });
      await r.arrayBuffer();
      return r.status === 200;
    };
  let pageIndex = 0;
  const page: Send = async () => {
    const url = pages[pageIndex++ % pages.length] ?? "";
    const r = await fetch(url, { redirect: "manual", headers: databaseHeaders });
    counted(r, d1Rows.page);
    await r.arrayBuffer();
    return r.status === 303;
  };
  const direct: Send = async () => {
    const form = new URLSearchParams({
      mode: "payment",
      success_url: "https://app.example/success?session_id={CHECKOUT_SESSION_ID}",
      cancel_url: "https://app.example/cancel",
      "allowed_payment_method_types[0]": "card",
      billing_address_collection: "required",
      expires_at: String(Math.floor(Date.now() / 1000) + 3600),
      "metadata[app_id]": stack.appId,
      "line_items[0][price]": "price_eur_once",
      "line_items[0][quantity]": "1",
      "line_items[0][tax_rates][0]": "txr_vat_de_19",
      "shipping_address_collection[allowed_countries][0]": "DE",
      "invoice_creation[enabled]": "true",
      customer_creation: "always",
    });
    const r = await fetch(`${stack.stripeOrigin}/v1/checkout/sessions`, {
      method: "POST",
      headers: {
        Authorization: "Bearer sk_test_local_stack",
        "Content-Type": "application/x-www-form-urlencoded",
        "Idempotency-Key": randomBytes(16).toString("hex"),
      },
      body: form,
    });
    await r.arrayBuffer();
    return r.status === 200;
  };
  return {
    create,
    io: ioAt("/__bench/io"),
    /** The floor plus one piece of the design's own I/O (bench/worker.ts). */
    ioPlus: (piece: "cached" | "ratelimits" | "reserve" | "log") =>
      ioAt(`/__bench/io?add=${piece}`),
    ioDesign: ioAt("/__bench/io-design"),
    page,
    direct,
    d1Rows,
  };
}
