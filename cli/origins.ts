import { UsageError } from "./errors.ts";

/** http is allowed only for these hosts, for local development. */
const LOOPBACK_HOSTS = ["localhost", "127.0.0.1"];

/**
 * A browser origin exactly as a browser sends it in `Origin`: scheme, host and port if not the
 * default, nothing else. Returns an error message, or null if the value is an origin.
 */
function originProblem(value: string): string | null {
  if (value.includes("*")) return "wildcards are not allowed; list each origin";
  if (!URL.canParse(value)) return "not a URL; an origin looks like https://app.example";
  const url = new URL(value);
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return "must be an https origin (http only for localhost and 127.0.0.1)";
  }
  if (url.protocol === "http:" && !LOOPBACK_HOSTS.includes(url.hostname)) {
    return "must be an https origin (http only for localhost and 127.0.0.1)";
  }
  if (url.origin === value) return null;
  const afterScheme = value.slice(value.indexOf("//") + 2);
  if (/[/?#\\]/.test(afterScheme)) {
    return `must be an origin only, without path, query, fragment or trailing slash: ${url.origin}`;
  }
  return `must be written exactly as browsers send it: ${url.origin}`;
}

/** The values of `--origin`, each checked, duplicates dropped, in the order given. */
export function checkOrigins(values: string[]): string[] {
  const origins: string[] = [];
  for (const value of values) {
    const problem = originProblem(value);
    if (problem) throw new UsageError(`--origin ${value}: ${problem}`);
    if (!origins.includes(value)) origins.push(value);
  }
  return origins;
}
