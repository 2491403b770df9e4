import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/local-stack.ts";

/** The double's loopback server and its faults control route (docs/stripe-double.md). */
const ROOT = path.resolve(import.meta.dirname, "../..");
let server: ChildProcess;
let origin: string;

beforeAll(async () => {
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, [path.join(ROOT, "scripts", "stripe-double-server.ts")], {
    env: { ...process.env, STRIPE_DOUBLE_PORT: String(port) },
    stdio: "ignore",
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await fetch(`${origin}/__double/faults`);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}, 20_000);

afterAll(() => {
  server?.kill("SIGTERM");
});

const faults = (method: string, body?: unknown) =>
  fetch(`${origin}/__double/faults`, {
    method,
    headers: { "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** An API call as the SDK makes it: form-encoded, with a test key. */
const createSession = () =>
  fetch(`${origin}/v1/checkout/sessions`, {
    method: "POST",
    headers: {
      Authorization: "Bearer sk_test_control_route",
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({
      mode: "payment",
      success_url: "https://app.example.test/ok",
      cancel_url: "https://app.example.test/no",
      "line_items[0][price]": "price_eur_once",
      "line_items[0][quantity]": "1",
      expires_at: String(Math.floor(Date.now() / 1000) + 3600),
    }),
  });

describe("the Stripe double's faults control route", () => {
  it("queues faults that the next API requests meet, in order, then answers normally", async () => {
    const queued = await faults("POST", {
      faults: [
        { kind: "status", status: 503 },
        { kind: "status", status: 500 },
      ],
    });
    expect(queued.status).toBe(200);
    expect(await queued.json()).toEqual({
      faults: [
        { kind: "status", status: 503 },
        { kind: "status", status: 500 },
      ],
    });
    expect((await createSession()).status).toBe(503);
    expect((await createSession()).status).toBe(500);
    const recovered = await createSession();
    expect(recovered.status).toBe(200);
    expect(((await recovered.json()) as { id: string }).id).toMatch(/^cs_test_/);
  });

  it("lists and clears the queue", async () => {
    await faults("POST", { faults: [{ kind: "delay", ms: 10 }, { kind: "network" }] });
    expect(await (await faults("GET")).json()).toEqual({
      faults: [{ kind: "delay", ms: 10 }, { kind: "network" }],
    });
    expect(await (await faults("DELETE")).json()).toEqual({ faults: [] });
    expect((await createSession()).status).toBe(200);
  });

  it.each([
    ["not JSON", "{"],
    ["an unknown kind", { faults: [{ kind: "meteor" }] }],
    ["a status that is no error", { faults: [{ kind: "status", status: 200 }] }],
    ["an unknown field", { faults: [{ kind: "network", extra: 1 }] }],
    ["no faults", { faults: [] }],
  ])("refuses %s with 400 and queues nothing", async (_what, body) => {
    const res = await fetch(`${origin}/__double/faults`, {
      method: "POST",
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    expect(await (await faults("GET")).json()).toEqual({ faults: [] });
  });
});
