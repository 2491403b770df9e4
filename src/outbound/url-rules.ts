import { URL_REFUSALS } from "../messages.ts";

/**
 * Where the service may POST an app's events: the no-SSRF rules of SPEC.md, checked when an
 * endpoint is registered or changed, and again before every attempt. A Worker cannot resolve a
 * name before fetch does, so the rules are on the URL itself: an https URL on a public host
 * name, the standard port, no IP literal (in any of the forms URL parsing turns into one), no
 * name that only resolves inside a network or that resolves to any address it embeds. Redirects
 * are never followed (the consumer's fetch uses redirect: "manual").
 */

/** Special-use names (RFC 6761, 6762, 8375, 9476) and common private suffixes. */
const PRIVATE_SUFFIXES = [
  "localhost",
  "local",
  "localdomain",
  "internal",
  "intranet",
  "lan",
  "home",
  "corp",
  "private",
  "home.arpa",
  "arpa",
  "test",
  "example",
  "invalid",
  "onion",
  "alt",
];

/** Public names that resolve to whatever address they embed (127.0.0.1.nip.io): not a host. */
const ANY_ADDRESS_DOMAINS = [
  "nip.io",
  "sslip.io",
  "xip.io",
  "traefik.me",
  "localtest.me",
  "lvh.me",
  "vcap.me",
  "lacolhost.com",
];

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);

const isLoopback = (host: string) => LOOPBACK_NAMES.has(host) || /^127(\.\d{1,3}){3}$/.test(host);

const endsWithLabel = (host: string, suffix: string) =>
  host === suffix || host.endsWith(`.${suffix}`);

export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

export interface UrlRules {
  livemode: boolean;
  /** Local development (WEBHOOK_ALLOW_LOOPBACK): test-mode endpoints may be http on loopback. */
  allowLoopback: boolean;
}

export function checkEndpointUrl(raw: string, rules: UrlRules): UrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: URL_REFUSALS.notAbsolute };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { ok: false, reason: URL_REFUSALS.notHttps };
  }
  if (url.username || url.password) return { ok: false, reason: URL_REFUSALS.credentials };
  if (url.hash || raw.includes("#")) return { ok: false, reason: URL_REFUSALS.fragment };
  // A name may end in any number of dots, which URL parsing keeps (`localhost..`) and DNS
  // resolvers drop: the rules read it without them.
  const host = url.hostname.toLowerCase().replace(/\.+$/, "");

  if (isLoopback(host)) {
    // Only the local receiver of `npm run dev`, and never for live events.
    if (rules.allowLoopback && !rules.livemode) return { ok: true, url };
    return { ok: false, reason: URL_REFUSALS.privateHost };
  }
  if (url.protocol !== "https:") return { ok: false, reason: URL_REFUSALS.notHttps };
  if (url.port !== "") return { ok: false, reason: URL_REFUSALS.port };
  // URL parsing writes every IPv4 form (decimal, octal, hex, short) as a dotted quad.
  if (host.startsWith("[") || /^[\d.]+$/.test(host) || /\.\d+$/.test(host)) {
    return { ok: false, reason: URL_REFUSALS.ipLiteral };
  }
  if (!host.includes(".") || PRIVATE_SUFFIXES.some((suffix) => endsWithLabel(host, suffix))) {
    return { ok: false, reason: URL_REFUSALS.privateHost };
  }
  if (ANY_ADDRESS_DOMAINS.some((domain) => endsWithLabel(host, domain))) {
    return { ok: false, reason: URL_REFUSALS.privateHost };
  }
  return { ok: true, url };
}
