import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { freePort } from "../../../scripts/lib/local-stack.ts";
import { ROOT } from "./local-apps.ts";

/**
 * The Stripe double's loopback server for a test file: started on a free port before its tests
 * (ready when its faults route answers, within 15 s), stopped after them. `origin()` is its URL.
 * `env()`, read when it starts, gives it more environment (where to send events, with which
 * secrets).
 */
export function useDoubleServer(env: () => Record<string, string> = () => ({})): {
  origin: () => string;
} {
  let server: ChildProcess | undefined;
  let origin = "";
  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, [path.join(ROOT, "scripts", "stripe-double-server.ts")], {
      env: { ...process.env, ...env(), STRIPE_DOUBLE_PORT: String(port) },
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
  return { origin: () => origin };
}
