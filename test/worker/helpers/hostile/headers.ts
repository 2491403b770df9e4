import fc from "fast-check";
import { generateApiKey } from "../../../../src/apps/keys.ts";
import { base64UrlJson } from "../tokens.ts";
import { type Fixture, KNOWN_BROWSER_ORIGIN } from "./fixture.ts";
import { headerText, longString } from "./primitives.ts";

export type HeaderList = [string, string][];

/**
 * Header values of at least 8 KiB: what a proxy passes on and a runtime accepts, and longer
 * than every store key (KV keys are at most 512 bytes) and every value the worker expects.
 */
const longHeaderValue = longString(8 * 1024, 9 * 1024);

export const contentTypeArb = fc.oneof(
  { weight: 10, arbitrary: fc.constant("application/json") },
  fc.constantFrom(
    "application/json; charset=utf-8",
    "application/json;charset=UTF-8",
    "APPLICATION/JSON",
    "application/json; charset=latin1",
    "application/json, text/plain",
    "application/jsonx",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "",
    "application/json\u00e9",
  ),
  headerText,
  longHeaderValue,
);

export const requestIdArb = fc.oneof(
  fc.uuid(),
  fc.stringMatching(/^[\w\-=]{1,128}$/),
  fc.stringMatching(/^[\w\-=]{129,140}$/),
  headerText,
  longString(200, 4000),
  longHeaderValue,
);

function headerCase(name: string): fc.Arbitrary<string> {
  return fc.oneof({ weight: 4, arbitrary: fc.constant(name) }, fc.mixedCase(fc.constant(name)));
}

/** A hostile X-API-KEY, or the right key (bare, padded, suffixed, recased). */
function apiKeyArb(fx: Fixture): fc.Arbitrary<string> {
  const right = fx.writer.key;
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(right) },
    fc.constantFrom(
      fx.reader.key,
      fx.otherWriter.key,
      `${right}x`,
      `${right}=`,
      right.slice(0, -1),
      right.toUpperCase(),
      right.toLowerCase(),
      ` ${right} `,
      `\t${right}`,
      `${right}, ${right}`,
      right.replace("cko_write_", "cko_read_"),
      generateApiKey("write"),
      "",
      "null",
    ),
    fc.string({ maxLength: 20 }).map((s) => `${right}${s}`),
    fc.stringMatching(/^cko_(read|write)_[A-Za-z0-9_-]{43}$/),
    headerText,
    longString(100, 6000),
    longHeaderValue,
  );
}

function bearerArb(fx: Fixture): fc.Arbitrary<string> {
  const t = fx.tokens;
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(`Bearer ${t.valid}`, `Bearer ${t.validWithTenant}`) },
    fc.constantFrom(
      `bearer ${t.valid}`,
      `BEARER ${t.valid}`,
      `Bearer  ${t.valid}`,
      `Bearer ${t.valid}x`,
      `Bearer ${t.valid.split(".").slice(0, 2).join(".")}.`,
      `Bearer ${t.expired}`,
      `Bearer ${t.otherAudience}`,
      `Bearer ${t.algNone}`,
      `Bearer ${t.hs256}`,
      `Basic ${btoa("user:pass")}`,
      `Token ${t.valid}`,
      "Bearer",
      "Bearer ",
      "Bearer x.y.z",
      "Bearer ..",
      `Bearer ${fx.writer.key}`,
      "",
    ),
    headerText.map((s) => `Bearer ${s}`),
    longString(100, 8000).map((s) => `Bearer ${s}`),
    fc
      .tuple(fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 }))
      .map(([h, p]) => `Bearer ${base64UrlJson(h)}.${base64UrlJson(p)}.${base64UrlJson("sig")}`),
    headerText,
  );
}

function clientIdArb(fx: Fixture): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(fx.writerApp.id) },
    fc.constantFrom(
      fx.tokenApp.id,
      fx.writerApp.id.toUpperCase(),
      ` ${fx.writerApp.id}`,
      `${fx.writerApp.id}x`,
      `{${fx.writerApp.id}}`,
      "00000000-0000-0000-0000-000000000000",
      "",
    ),
    fc.uuid(),
    headerText,
    longHeaderValue,
  );
}

/** Optional header: absent in `absentWeight` of `absentWeight + 1` cases. */
function maybe(
  name: string,
  value: fc.Arbitrary<string>,
  absentWeight = 1,
): fc.Arbitrary<HeaderList> {
  return fc.oneof(
    { weight: absentWeight, arbitrary: fc.constant([] as HeaderList) },
    {
      weight: 1,
      arbitrary: fc.tuple(headerCase(name), value).map(([n, v]): HeaderList => [[n, v]]),
    },
  );
}

/**
 * Headers with hostile credentials. In about half of the cases the writer's key, type and
 * client id are all present (with only other headers hostile), so validation paths are reached.
 */
export function hostileHeaders(fx: Fixture): fc.Arbitrary<HeaderList> {
  const valid: HeaderList = Object.entries(fx.writer.headers);
  const credentials = fc.oneof(
    { weight: 5, arbitrary: fc.constant(valid) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(
          maybe("X-API-KEY", apiKeyArb(fx), 1),
          maybe(
            "X-API-KEY-TYPE",
            fc.oneof(
              { weight: 6, arbitrary: fc.constant("write") },
              fc.constantFrom("read", "WRITE", "Write", "write ", "admin", "", "write,read"),
              headerText,
              longHeaderValue,
            ),
            1,
          ),
          maybe("X-CLIENT-ID", clientIdArb(fx), 1),
        )
        .map((parts) => parts.flat()),
    },
    { weight: 1, arbitrary: fc.constant([] as HeaderList) },
  );
  return fc
    .tuple(
      credentials,
      maybe("Authorization", bearerArb(fx), 4),
      maybe("Content-Type", contentTypeArb, 0),
      maybe(
        "Origin",
        fc.oneof(
          fc.constantFrom(KNOWN_BROWSER_ORIGIN, "null", "https://evil.example", ""),
          fc.constantFrom(
            `${KNOWN_BROWSER_ORIGIN}/`,
            `${KNOWN_BROWSER_ORIGIN}:443`,
            KNOWN_BROWSER_ORIGIN.toUpperCase(),
            `${KNOWN_BROWSER_ORIGIN}/path`,
          ),
          headerText,
          longHeaderValue,
          longString(400, 600).map((host) => `https://${host}`),
        ),
        5,
      ),
      maybe("X-Request-Id", requestIdArb, 1),
      maybe(
        "Accept-Language",
        fc.oneof(fc.constantFrom("de-DE,de;q=0.9", "en", "*", "xx"), headerText, longHeaderValue),
        3,
      ),
      maybe(
        "CF-Connecting-IP",
        fc.oneof(
          fc.constantFrom("203.0.113.7", "2001:db8::1", "2001:DB8:0:0:1::1", "::ffff:1.2.3.4"),
          fc.constantFrom("999.1.1.1", "1.2.3", "fe80::1%eth0", "::::"),
          headerText,
          longHeaderValue,
        ),
        4,
      ),
      // Occasionally send a credential header twice (Headers joins them with ", ").
      maybe("X-API-KEY", apiKeyArb(fx), 12),
      maybe("Stripe-Signature", fc.oneof(headerText, longHeaderValue), 12),
      maybe("Content-Encoding", fc.constantFrom("gzip", "br", "deflate", "identity", "x"), 12),
    )
    .map((parts) => parts.flat());
}
