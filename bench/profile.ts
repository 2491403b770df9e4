/**
 * `npm run bench:profile -- [create|io|io-design|page] [seconds]`: where the worker's CPU goes.
 * Starts the bench's stack with the DevTools inspector on loopback, drives one request kind
 * from 8 clients while the V8 sampling profiler runs in the worker's isolate, and prints the
 * functions and source files with the most self time. Writes the raw profile to
 * bench/profile.cpuprofile (open it in Chrome DevTools). Stops everything it started.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { freePort, repoRoot, startLocalStack } from "../scripts/lib/local-stack.ts";
import { benchRequests, drive, throughput } from "./load.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const kind = (process.argv[2] ?? "create") as "create" | "io" | "io-design" | "page";
const seconds = Number(process.argv[3] ?? 8);

/** A minimal DevTools protocol client over the inspector's WebSocket. */
async function connect(port: number) {
  const deadline = Date.now() + 20_000;
  let targets: { webSocketDebuggerUrl: string }[] = [];
  while (targets.length === 0 && Date.now() < deadline) {
    targets = await fetch(`http://127.0.0.1:${port}/json`)
      .then((r) => r.json() as Promise<{ webSocketDebuggerUrl: string }[]>)
      .catch(() => []);
    if (targets.length === 0) await new Promise((r) => setTimeout(r, 250));
  }
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error("the worker's inspector listed no target");
  // Wrangler's inspector proxy accepts DevTools from loopback origins only.
  const socket = new WebSocket(url, {
    headers: { Origin: "http://127.0.0.1" },
  } as unknown as string[]);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  const send = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve as (result: unknown) => void);
      socket.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => socket.close() };
}

function summarise(profile: Profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const total = [...selfMs.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  let idleMs = 0;
  const byFile = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url ? url.replace(/^.*\/(node_modules\/)?/, "") : "(native)";
    const name = `${functionName || "(anonymous)"}  ${file}:${lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    if (functionName === "(idle)") idleMs += ms;
    byFile.set(file, (byFile.get(file) ?? 0) + ms);
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => `${((ms / total) * 100).toFixed(1).padStart(5)}%  ${name}`)
      .join("\n");
  return { total, busy: total - idleMs, functions: top(byFunction, 30), files: top(byFile, 15) };
}

async function main() {
  const inspectorPort = await freePort();
  const stack = await startLocalStack({
    main: path.join(repoRoot, "bench", "worker.ts"),
    unlimitedRateLimits: true,
    inspectorPort,
    unminified: true,
    stateInMemory: true,
    runtime: "built",
  });
  try {
    const requests = benchRequests(stack);
    const send = {
      create: requests.create,
      io: requests.io,
      "io-design": requests.ioDesign,
      page: requests.page,
    }[kind];
    await drive(requests.create, 4, 2); // warm-up; also makes pages for `page`
    await drive(send, 4, 2);
    const inspector = await connect(inspectorPort);
    await inspector.send("Profiler.enable");
    await inspector.send("Profiler.setSamplingInterval", { interval: 200 });
    await inspector.send("Profiler.start");
    const sample = await drive(send, 8, seconds);
    const { profile } = await inspector.send<{ profile: Profile }>("Profiler.stop");
    inspector.close();
    const out = path.join(repoRoot, "bench", "profile.cpuprofile");
    writeFileSync(out, JSON.stringify(profile));
    const { total, busy, functions, files } = summarise(profile);
    process.stdout.write(
      `${kind}: ${throughput(sample).toFixed(0)} req/s over ${sample.count} requests; isolate busy ${busy.toFixed(0)} ms of ${total.toFixed(0)} ms sampled (${(busy / sample.count).toFixed(2)} ms per request)\n\nSelf time by function:\n${functions}\n\nSelf time by file:\n${files}\n\nRaw profile: ${out}\n`,
    );
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[profile] ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
