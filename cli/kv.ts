import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";

/**
 * The little the admin commands need from the APPS namespace. The batch methods exist because
 * every wrangler call starts a process and a local miniflare (about two seconds each), so a
 * command should read or write what it needs in as few calls as it can.
 */
export interface KvStore {
  get(key: string): Promise<string | null>;
  /** Values in the order of `keys`; null where a key is absent. */
  getMany(keys: readonly string[]): Promise<(string | null)[]>;
  put(key: string, value: string): Promise<void>;
  putMany(entries: readonly (readonly [key: string, value: string])[]): Promise<void>;
  /** Every key name that starts with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
}

/** For tests, and for anyone who wants to try the commands without wrangler. */
export class MemoryKvStore implements KvStore {
  readonly data = new Map<string, string>();

  async get(key: string): Promise<string | null> {
    return this.data.get(key) ?? null;
  }

  async getMany(keys: readonly string[]): Promise<(string | null)[]> {
    return keys.map((key) => this.data.get(key) ?? null);
  }

  async put(key: string, value: string): Promise<void> {
    this.data.set(key, value);
  }

  async putMany(entries: readonly (readonly [string, string])[]): Promise<void> {
    for (const [key, value] of entries) this.data.set(key, value);
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.data.keys()].filter((key) => key.startsWith(prefix)).sort();
  }
}

export type WranglerKvOptions = {
  /** The repository root: where wrangler.toml and node_modules/wrangler are. */
  root: string;
  /** Cloudflare's namespace instead of the local state. */
  remote: boolean;
  /** Local state directory (absolute, or relative to `root`); wrangler's default if absent. */
  persistTo?: string;
  binding?: string;
};

/** A wrangler run that failed; the message carries wrangler's own words, without colours. */
export class WranglerError extends Error {
  readonly exitCode: number | null;

  constructor(message: string, exitCode: number | null) {
    super(message);
    this.name = "WranglerError";
    this.exitCode = exitCode;
  }
}

// Cloudflare's bulk-read endpoint takes at most 100 keys per request.
const BULK_GET_MAX = 100;

export function wranglerKvStore(options: WranglerKvOptions): KvStore {
  const wranglerJs = path.join(options.root, "node_modules", "wrangler", "bin", "wrangler.js");
  const target = options.remote
    ? ["--remote"]
    : [
        "--local",
        ...(options.persistTo
          ? ["--persist-to", path.resolve(options.root, options.persistTo)]
          : []),
      ];
  const common = [
    "--binding",
    options.binding ?? "APPS",
    "--config",
    path.join(options.root, "wrangler.toml"),
    ...target,
  ];

  function run(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      // No shell, so no argument is ever interpreted; stdout and stderr are both captured so
      // that wrangler's banner and warnings never reach the operator's stdout (--json).
      execFile(
        process.execPath,
        [wranglerJs, "kv", ...args, ...common],
        {
          cwd: options.root,
          maxBuffer: 64 * 1024 * 1024,
          // Wrangler colours its messages even into a pipe unless told not to.
          env: { ...process.env, FORCE_COLOR: "0" },
        },
        (error, stdout, stderr) => {
          if (!error) {
            resolve(stdout);
            return;
          }
          const exitCode = typeof error.code === "number" ? error.code : null;
          reject(
            new WranglerError(
              `wrangler kv ${args.slice(0, 2).join(" ")} failed (exit ${exitCode ?? "?"}): ${describeFailure(stderr, stdout, error.message)}`,
              exitCode,
            ),
          );
        },
      );
    });
  }

  // Values go through a private temporary file: safe for any bytes, never on a command line.
  async function withTempFile<T>(content: string, use: (file: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(path.join(tmpdir(), "checkout-admin-"));
    const file = path.join(dir, "data.json");
    try {
      await writeFile(file, content, { mode: 0o600 });
      return await use(file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async function getMany(keys: readonly string[]): Promise<(string | null)[]> {
    const values: (string | null)[] = [];
    for (let start = 0; start < keys.length; start += BULK_GET_MAX) {
      const chunk = keys.slice(start, start + BULK_GET_MAX);
      // `kv bulk get` rather than `kv key get`: the latter prints "Value not found" for a
      // missing key locally but fails for one remotely; the bulk form answers null for both.
      const stdout = await withTempFile(JSON.stringify(chunk), (file) =>
        run(["bulk", "get", file]),
      );
      const result = parseJsonOutput(stdout);
      if (!isObject(result)) throw new WranglerError("wrangler kv bulk get: unexpected output", 0);
      for (const key of chunk) values.push(bulkValue(result[key]));
    }
    return values;
  }

  async function putMany(entries: readonly (readonly [string, string])[]): Promise<void> {
    if (entries.length === 0) return;
    const payload = entries.map(([key, value]) => ({ key, value }));
    await withTempFile(JSON.stringify(payload), (file) => run(["bulk", "put", file]));
  }

  return {
    getMany,
    putMany,
    async get(key) {
      const [value] = await getMany([key]);
      return value ?? null;
    },
    put: (key, value) => putMany([[key, value]]),
    async list(prefix) {
      const result = parseJsonOutput(await run(["key", "list", "--prefix", prefix]));
      if (!Array.isArray(result)) {
        throw new WranglerError("wrangler kv key list: unexpected output", 0);
      }
      const names = result.map((item: unknown) => (isObject(item) ? item.name : undefined));
      return names.filter((name): name is string => typeof name === "string").sort();
    },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Local bulk get answers `{ key: { value } }`, Cloudflare's API `{ key: value }`. */
function bulkValue(entry: unknown): string | null {
  if (entry === null || entry === undefined) return null;
  if (typeof entry === "string") return entry;
  if (isObject(entry) && "value" in entry) return bulkValue(entry.value);
  return JSON.stringify(entry);
}

/**
 * The JSON that wrangler prints. Normally stdout is only that, but remote runs may log a line
 * or two before it, so fall back to the first line that opens a JSON value.
 */
function parseJsonOutput(stdout: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch {
    const lines = stdout.split("\n");
    const start = lines.findIndex((line) => line.startsWith("{") || line.startsWith("["));
    if (start < 0) throw new WranglerError("wrangler printed no JSON", 0);
    return JSON.parse(lines.slice(start).join("\n"));
  }
}

// Banner, location hints, log-file pointer and the beta notice of `kv bulk get`: not causes.
const NOISE = /^[─⛅🪵]|^Resource location|^Use --remote|is an open beta command/u;

/** Why a run failed, in wrangler's words: its error line if it printed one, else the start. */
function describeFailure(stderr: string, stdout: string, fallback: string): string {
  const lines = stripVTControlCharacters(`${stderr}\n${stdout}`)
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !NOISE.test(line));
  const errorLine = lines.findIndex((line) => line.includes("[ERROR]"));
  const useful = errorLine >= 0 ? lines.slice(errorLine, errorLine + 2) : lines.slice(0, 3);
  return useful.join(" ") || fallback;
}
