/**
 * Serves an already built worker bundle (`wrangler deploy --dry-run --outdir`) in workerd
 * through Miniflare, with the bindings of a wrangler config and wrangler's local state layout.
 * Unlike `wrangler dev` there is no proxy worker in front and no DevTools inspector relaying
 * every console call to wrangler's own process: what runs is the deployed code and its
 * bindings. The bench uses it (scripts/lib/local-stack.ts, `runtime: "built"`).
 *
 * Input: SERVE_BUILT_WORKER, JSON { configPath, script, port, persistTo, vars, inspectorPort? }.
 * Prints "ready" when it answers; SIGTERM disposes of workerd and exits. Error and warning
 * lines of the worker go to stderr; the others are counted only (SIGUSR2 prints the count).
 */
import { convertV4MiniflareOptions, Miniflare, type V4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

interface Spec {
  configPath: string;
  script: string;
  port: number;
  persistTo: string;
  vars: Record<string, string>;
  inspectorPort?: number;
}

const spec = JSON.parse(process.env.SERVE_BUILT_WORKER ?? "null") as Spec | null;
if (!spec) throw new Error("SERVE_BUILT_WORKER is not set");

// Wrangler states the config's bindings in Miniflare's v4 options; Miniflare 5 converts them.
const { workerOptions } = unstable_getMiniflareWorkerOptions(spec.configPath);
let infoLines = 0;
// The bundle is one module, so the config's module rules (for unbundled sources) do not apply.
// No static assets (the /docs bundle): on Cloudflare their layer runs in front of the Worker and
// its CPU is not the Worker's, while here it would run in the same workerd and count in the
// bench's CPU figures.
const {
  modulesRules: _rules,
  assets: _assets,
  ...bindingOptions
} = workerOptions as V4MiniflareOptions;
const options: V4MiniflareOptions = {
  ...bindingOptions,
  modules: true,
  scriptPath: spec.script,
  bindings: { ...(workerOptions.bindings as Record<string, unknown>), ...spec.vars },
  host: "127.0.0.1",
  port: spec.port,
  resourcePersistencePath: `${spec.persistTo}/v3`,
  logRequests: false,
  ...(spec.inspectorPort ? { inspectorPort: spec.inspectorPort } : {}),
  handleStructuredLogs: ({ level, message }) => {
    if (level === "error" || level === "warn") {
      process.stderr.write(`[worker ${level}] ${message}\n`);
    } else {
      infoLines += 1;
    }
  },
} as V4MiniflareOptions;
const mf = new Miniflare(convertV4MiniflareOptions(options));

await mf.ready;
process.stdout.write("ready\n");
process.on("SIGUSR2", () => process.stdout.write(`log lines: ${infoLines}\n`));
process.on("SIGTERM", () => {
  void mf.dispose().finally(() => process.exit(0));
});
