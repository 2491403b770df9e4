import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { expect } from "vitest";
import { generateApiKey } from "../../../src/apps/keys.ts";
import type { AppRecord } from "../../../src/apps/records.ts";
import { type GivenKey, givenKey, givenWriter, newState } from "./apps.ts";
import { postJson, validBody } from "./http.ts";
import { stripe } from "./stripe.ts";
import { base64UrlJson, givenTokenApp, newKeyPair, signToken } from "./tokens.ts";

/**
 * Generators of hostile requests and the invariants every answer of the worker must keep,
 * shared by the property-based tests (test/worker/hostile-input.test.ts).
 */

export const ORIGIN = "https://pay.example.test";
export const KNOWN_BROWSER_ORIGIN = "https://app.example.test";
export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"] as const;
export type Method = (typeof METHODS)[number];

// ---------------------------------------------------------------------------------------------
// Fixture: the apps, keys, tokens and real checkouts the generators draw from.
// ---------------------------------------------------------------------------------------------

export interface RealCheckout {
  appId: string;
  id: string;
  hash: string;
  state: string;
}

export interface Fixture {
  writerApp: AppRecord;
  writer: GivenKey;
  reader: GivenKey;
  otherWriter: GivenKey;
  tokenApp: AppRecord;
  tokens: {
    valid: string;
    validWithTenant: string;
    expired: string;
    otherAudience: string;
    algNone: string;
    hs256: string;
  };
  checkouts: RealCheckout[];
  /** Apps whose rows the write checks count (every app a generated request can write for). */
  appIds: string[];
}

export async function givenFixture(): Promise<Fixture> {
  // Live enabled, so that `"test": false` (and a missing `test`) reach Stripe too.
  const { app: writerApp, key: writer } = await givenWriter({ liveEnabled: true });
  const reader = await givenKey(writerApp.id, "read");
  const { key: otherWriter } = await givenWriter();
  const keys = await newKeyPair();
  const tokenApp = await givenTokenApp(keys, { allowedOrigins: [KNOWN_BROWSER_ORIGIN] });
  const now = Math.floor(Date.now() / 1000);
  const header = base64UrlJson({ alg: "none", typ: "JWT" });
  const claims = base64UrlJson({
    iss: "https://auth.example.test",
    aud: tokenApp.id,
    exp: now + 600,
  });
  const tokens = {
    // Valid for 15 minutes: longer than any run of the properties.
    valid: await signToken(keys, tokenApp, { exp: now + 900 }),
    validWithTenant: await signToken(keys, tokenApp, {
      exp: now + 900,
      tenantId: crypto.randomUUID(),
    }),
    expired: await signToken(keys, tokenApp, { iat: now - 4000, exp: now - 3600 }),
    otherAudience: await signToken(keys, tokenApp, { aud: writerApp.id, exp: now + 900 }),
    algNone: `${header}.${claims}.`,
    hs256: `${base64UrlJson({ alg: "HS256", typ: "JWT" })}.${claims}.c2lnbmF0dXJl`,
  };

  const checkouts: RealCheckout[] = [];
  for (let i = 0; i < 4; i++) {
    const state = newState();
    const res = await postJson("/api/v1/checkout-sessions", validBody({ state }), writer.headers);
    expect(res.status).toBe(200);
    const { id, hash } = (res.body.data as { checkout: { id: string; hash: string } }).checkout;
    checkouts.push({ appId: writerApp.id, id, hash, state });
  }
  stripe.reset();
  return {
    writerApp,
    writer,
    reader,
    otherWriter,
    tokenApp,
    tokens,
    checkouts,
    appIds: [writerApp.id, tokenApp.id],
  };
}

// ---------------------------------------------------------------------------------------------
// Primitive generators
// ---------------------------------------------------------------------------------------------

const STATE_REGEX = /^[A-Za-z0-9\-_.~]{64}$/;
export const stateArb = fc.stringMatching(STATE_REGEX);

/** A string of `length` characters repeated from a short seed: cheap even at 10 KB. */
export function longString(
  minLength: number,
  maxLength: number,
  unit: "grapheme" | "binary" | "grapheme-ascii" = "grapheme-ascii",
): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.string({ unit, minLength: 1, maxLength: 5 }),
      fc.integer({ min: minLength, max: maxLength }),
    )
    .map(([seed, length]) => seed.repeat(Math.ceil(length / seed.length)).slice(0, length));
}

const anyText = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme-ascii", maxLength: 40 }),
  fc.string({ maxLength: 20 }).map((s) => `${s}\u0000${s}`),
);

/**
 * Text for header values: mostly ASCII (control characters included), some Unicode, which
 * cannot be a header value (those requests are skipped, see buildRequest).
 */
const headerText = fc.oneof(
  { weight: 7, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 40 }) },
  { weight: 4, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 10 }) },
);

/** Raw JSON number texts, some beyond what a double or a safe integer holds. */
const rawNumber = fc.oneof(
  fc.constantFrom(
    "123456789012345678901234567890",
    "-123456789012345678901234567890",
    "9007199254740993",
    "-0",
    "-0.0",
    "0",
    "1e309",
    "-1e309",
    "1e-400",
    "1.0",
    "1e0",
    "1E2",
    "0.5",
    "999999",
    "999999.0000000000001",
    "1000000",
    "-1",
    "4.9e-324",
    "1.7976931348623157e308",
  ),
  fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }).map(String),
  fc.double().filter(Number.isFinite).map(String),
);

/** Texts that look like numbers or values but are not JSON. */
const notJsonValue = fc.constantFrom(
  "NaN",
  "Infinity",
  "-Infinity",
  "undefined",
  "0x10",
  "+1",
  ".5",
  "01",
  "1_000",
  "'price_eur_once'",
  "True",
  "nul",
  "",
);

const nanIshString = fc.constantFrom("NaN", "Infinity", "-0", "1e309", "null", "undefined", "0x1");

/** Objects that try to pollute prototypes when merged or assigned naively. */
const protoPolluter = fc.constantFrom(
  '{"__proto__":{"polluted":"yes"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '{"prototype":{"polluted":"yes"}}',
  '[{"__proto__":{"polluted":"yes"}}]',
  '{"a":{"b":{"__proto__":{"polluted":"yes"}}}}',
);

const deepNesting = fc
  .tuple(fc.integer({ min: 1, max: 5000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays
      ? `${"[".repeat(depth)}${"]".repeat(depth)}`
      : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`,
  );

/** Any hostile JSON (or almost-JSON) value text for one field. */
export const hostileValueText: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  rawNumber,
  notJsonValue,
  anyText.map((s) => JSON.stringify(s)),
  nanIshString.map((s) => JSON.stringify(s)),
  longString(1000, 10_500).map((s) => JSON.stringify(s)),
  longString(100, 3000, "grapheme").map((s) => JSON.stringify(s)),
  protoPolluter,
  deepNesting,
  fc.constantFrom("null", "true", "false", "[]", "{}", '""', '" "', '"\\u0000"'),
  fc
    .dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 })
    .map((v) => JSON.stringify(v)),
);

const PRICES = ["price_eur_once", "price_eur_monthly", "price_usd_once", "price_usd_monthly"];
const TAX_RATES = ["txr_vat_de_19", "txr_reverse_charge_0", "txr_zero"];

/** Values that pass (or almost pass) each field's rule: these reach the deeper paths. */
const plausibleField: Record<string, fc.Arbitrary<string>> = {
  price: fc
    .oneof(
      { weight: 6, arbitrary: fc.constantFrom(...PRICES) },
      fc.constantFrom(
        "price_missing",
        "price_",
        "price_ 1",
        "prod_123",
        "PRICE_EUR_ONCE",
        "price_eur_once\u0000",
      ),
      fc.stringMatching(/^price_[A-Za-z0-9_]{1,30}$/),
      longString(240, 260).map((s) => `price_${s.replace(/[^A-Za-z0-9_]/g, "a")}`),
    )
    .map((s) => JSON.stringify(s)),
  quantity: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 999_999 }).map(String) },
    fc.integer().map(String),
    rawNumber,
    fc.constantFrom('"1"', "1.5", "0", "-1", "1000000"),
  ),
  taxRate: fc
    .oneof(
      { weight: 6, arbitrary: fc.constantFrom(...TAX_RATES) },
      fc.constantFrom("txr_unknown", "txr_", "tax_1", "TXR_ZERO"),
      fc.stringMatching(/^txr_[A-Za-z0-9_]{1,30}$/),
    )
    .map((s) => JSON.stringify(s)),
  allowedCountry: fc
    .oneof(
      { weight: 6, arbitrary: fc.constantFrom("DE", "AT", "FR", "US", "GB", "NL") },
      fc.constantFrom("de", "DEU", "ZZ", "KP", "", "D", "DE ", " DE", "D\u0000"),
      fc.stringMatching(/^[A-Z]{2}$/),
    )
    .map((s) => JSON.stringify(s)),
  paymentMethodType: fc
    .oneof(
      { weight: 6, arbitrary: fc.constantFrom("card", "sepa") },
      fc.constantFrom("sofort", "sepa_debit", "CARD", "paypal", "card\u0000"),
    )
    .map((s) => JSON.stringify(s)),
  billingAddressCollection: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("true", "false") },
    fc.constantFrom('"true"', "1", "0", "null"),
  ),
  mode: fc
    .oneof(
      { weight: 6, arbitrary: fc.constantFrom("payment", "subscription", "setup") },
      fc.constantFrom("Payment", "donation", "payment\u0000", ""),
    )
    .map((s) => JSON.stringify(s)),
  isReverseCharge: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("true", "false") },
    fc.constantFrom('"false"', "0", "null"),
  ),
  test: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("true", "false") },
    fc.constantFrom('"yes"', "null", "1"),
  ),
  state: fc
    .oneof(
      { weight: 8, arbitrary: stateArb },
      stateArb.map((s) => s.slice(1)),
      stateArb.map((s) => `${s}a`),
      stateArb.map((s) => `${s.slice(1)}&`),
      stateArb.map((s) => `${s.slice(1)}é`),
      stateArb.map((s) => `${s.slice(1)}\u0000`),
      stateArb.map((s) => s.toUpperCase()),
    )
    .map((s) => JSON.stringify(s)),
};

export const BODY_FIELDS = Object.keys(plausibleField);

const extraKey = fc.oneof(
  fc.constantFrom(
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "hasOwnProperty",
    "valueOf",
    "currency",
    "padding",
    "",
    "state",
    "price",
    "quantity",
    "test",
  ),
  fc.string({ unit: "grapheme", maxLength: 12 }),
);

/** Combinations of mode, price and payment method that Stripe (the double) accepts. */
const COHERENT = [
  { mode: "payment", price: "price_eur_once", paymentMethodType: "card" },
  { mode: "payment", price: "price_eur_once", paymentMethodType: "sepa" },
  { mode: "payment", price: "price_usd_once", paymentMethodType: "card" },
  { mode: "subscription", price: "price_eur_monthly", paymentMethodType: "card" },
  { mode: "subscription", price: "price_usd_monthly", paymentMethodType: "card" },
  // Refused here (409: no customer yet), without calling Stripe.
  { mode: "setup", price: "price_eur_once", paymentMethodType: "card" },
];

/** A body that the worker accepts (but for setup mode), as [field, raw JSON] entries. */
const validEntries: fc.Arbitrary<[string, string][]> = fc
  .record({
    combo: fc.constantFrom(...COHERENT),
    quantity: fc.integer({ min: 1, max: 999_999 }),
    taxRate: fc.constantFrom(...TAX_RATES),
    allowedCountry: fc.constantFrom("DE", "AT", "FR", "US"),
    billingAddressCollection: fc.boolean(),
    isReverseCharge: fc.boolean(),
    test: fc.constantFrom(true, true, false),
    state: stateArb,
  })
  .map(({ combo, ...rest }) =>
    BODY_FIELDS.map((field): [string, string] => [
      field,
      JSON.stringify(({ ...combo, ...rest } as Record<string, unknown>)[field]),
    ]),
  );

/** One field of an object body: usually plausible, sometimes hostile, sometimes missing. */
function fieldEntry(field: string): fc.Arbitrary<[string, string] | null> {
  const plausible = plausibleField[field] ?? hostileValueText;
  return fc.oneof(
    { weight: 12, arbitrary: plausible.map((raw): [string, string] => [field, raw]) },
    { weight: 2, arbitrary: hostileValueText.map((raw): [string, string] => [field, raw]) },
    { weight: 1, arbitrary: fc.constant(null) },
  );
}

function objectText(entries: readonly (readonly [string, string])[], spaced: boolean): string {
  const sep = spaced ? ", " : ",";
  return `{${entries.map(([k, raw]) => `${JSON.stringify(k)}${spaced ? ": " : ":"}${raw}`).join(sep)}}`;
}

/** An object body whose fields are all valid except (perhaps) one, as raw JSON text. */
const nearlyValidBodyText: fc.Arbitrary<string> = fc
  .record({
    fields: validEntries,
    change: fc.option(
      fc.tuple(
        fc.nat({ max: BODY_FIELDS.length - 1 }),
        fc.oneof(
          fc.constant(null),
          fc.constantFrom(...BODY_FIELDS).chain((f) => plausibleField[f] ?? hostileValueText),
          hostileValueText,
        ),
      ),
      { freq: 3 },
    ),
    spaced: fc.boolean(),
  })
  .map(({ fields, change, spaced }) => {
    const entries: [string, string][] = [...fields];
    if (change) {
      const [at, raw] = change;
      const field = entries[at]?.[0] ?? "state";
      if (raw === null) entries.splice(at, 1);
      else entries[at] = [field, raw];
    }
    return objectText(entries, spaced);
  });

/** An object body as raw JSON text: it can hold duplicate keys and raw numbers. */
const mixedBodyText: fc.Arbitrary<string> = fc
  .record({
    fields: fc.tuple(...BODY_FIELDS.map(fieldEntry)),
    extras: fc.oneof(
      { weight: 5, arbitrary: fc.constant([] as [string, string][]) },
      fc.array(fc.tuple(extraKey, hostileValueText), { minLength: 1, maxLength: 4 }),
    ),
    extrasFirst: fc.boolean(),
    spaced: fc.boolean(),
  })
  .map(({ fields, extras, extrasFirst, spaced }) => {
    const present = fields.filter((e): e is [string, string] => e !== null);
    return objectText(extrasFirst ? [...extras, ...present] : [...present, ...extras], spaced);
  });

export const objectBodyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: nearlyValidBodyText },
  { weight: 2, arbitrary: mixedBodyText },
);

/** Bodies a careless or hostile client might send, as text or bytes. */
/** A body sent as a stream of chunks, without Content-Length. */
export interface StreamedBody {
  stream: string[];
}

export type Body = string | Uint8Array | StreamedBody;

export const hostileBody: fc.Arbitrary<Body> = fc.oneof(
  { weight: 12, arbitrary: objectBodyText },
  // Duplicate keys: the second state (or price, quantity) wins in JSON.parse.
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        objectBodyText,
        fc.constantFrom("state", "price", "quantity", "test", "mode"),
        hostileValueText,
      )
      .map(
        ([text, key, raw]) =>
          `${text.slice(0, -1)}${text.length > 2 ? "," : ""}${JSON.stringify(key)}:${raw}}`,
      ),
  },
  // Over (or just under) the 8 KiB limit, with everything else valid.
  {
    weight: 1,
    arbitrary: fc
      .tuple(objectBodyText, fc.integer({ min: 7800, max: 10_500 }))
      .map(
        ([text, size]) =>
          `${text.slice(0, -1)},"padding":"${"x".repeat(Math.max(0, size - text.length))}"}`,
      ),
  },
  fc.constant(""),
  fc.constantFrom(
    "null",
    "[]",
    "{}",
    '"hello"',
    "7",
    "true",
    "[{}]",
    '{"a":1}{"b":2}',
    "{,}",
    "{'a':1}",
  ),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  anyText,
  objectBodyText.chain((t) =>
    fc.integer({ min: 0, max: Math.max(0, t.length - 1) }).map((n) => t.slice(0, n)),
  ),
  objectBodyText.map((t) => `\uFEFF${t}`),
  objectBodyText.map((t) => `${t}\u0000`),
  fc.uint8Array({ maxLength: 200 }),
  // Streamed (no Content-Length): the size limit must hold while reading.
  objectBodyText.chain((t) =>
    fc.array(fc.nat({ max: t.length }), { maxLength: 4 }).map((cuts): StreamedBody => {
      const at = [0, ...cuts.sort((a, b) => a - b), t.length];
      return { stream: at.slice(1).map((end, i) => t.slice(at[i], end)) };
    }),
  ),
  fc
    .array(longString(1000, 4000), { minLength: 1, maxLength: 5 })
    .map((chunks): StreamedBody => ({ stream: [`{"state":"`, ...chunks, `"}`] })),
  objectBodyText.map((t) => {
    // Valid JSON around invalid UTF-8 bytes.
    const bytes = new TextEncoder().encode(t);
    const out = new Uint8Array(bytes.length + 2);
    out.set(bytes.subarray(0, 1));
    out.set([0xc3, 0x28], 1);
    out.set(bytes.subarray(1), 3);
    return out;
  }),
);

// ---------------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------------

export type HeaderList = [string, string][];

/**
 * Header values of at least 8 KiB: what a proxy passes on and a runtime accepts, and longer
 * than every store key (KV keys are at most 512 bytes) and every value the worker expects.
 */
export const longHeaderValue = longString(8 * 1024, 9 * 1024);

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

// ---------------------------------------------------------------------------------------------
// Paths and query strings
// ---------------------------------------------------------------------------------------------

export const junkSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "..",
    ".",
    "%2e%2e",
    "%2E%2E%2F",
    "%00",
    "%",
    "%%",
    "%ZZ",
    "%E0%A4%A",
    "%C0%AF",
    "%FF",
    "%2F",
    "%5C",
    "%3F",
    "%23",
    "%u002e",
    "..%2f..%2f",
    ";",
    "checkout-sessions;x=1",
    "CHECKOUT-SESSIONS",
    "checkout-sessions.json",
    "%63heckout-sessions",
    "",
    "~",
    "*",
    ":id",
    "undefined",
    "__proto__",
    "constructor",
  ),
  fc.webSegment(),
  anyText.map((s) => encodeURIComponent(s)),
  anyText,
  fc.uuid(),
  fc.stringMatching(/^cs_(test|live)_[A-Za-z0-9]{1,40}$/),
  longString(500, 6000).map((s) => encodeURIComponent(s)),
);

export const queryArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant("") },
  fc.constantFrom("?", "?&&=&", "?state", "?state=", "?=x", "?%", "?state=%ZZ", "?a=1&a=2&a=3"),
  fc.webQueryParameters().map((q) => `?${q}`),
  fc
    .array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom("state", "id", "__proto__", "constructor", "test", "hash"),
          fc.string({ maxLength: 8 }),
        ),
        fc.oneof(stateArb, anyText, longString(100, 3000)),
        fc.boolean(),
      ),
      { minLength: 1, maxLength: 5 },
    )
    .map(
      (pairs) =>
        `?${pairs.map(([k, v, encode]) => (encode ? `${encodeURIComponent(k)}=${encodeURIComponent(v)}` : `${k}=${v}`)).join("&")}`,
    ),
);

/** Paths under the API and the payment page, known routes with hostile parameters, and junk. */
export function pathArb(fx: Fixture): fc.Arbitrary<string> {
  const known = fc.constantFrom(
    "/api/v1/checkout-sessions",
    `/api/v1/tenants/${crypto.randomUUID()}/checkout-sessions`,
    `/api/v1/checkout-sessions/${fx.checkouts[0]?.id ?? "cs_test_x"}`,
    "/api/v1/webhooks/stripe",
    "/healthz",
    "/openapi.json",
    "/docs",
    "/",
    "/api",
    "/api/v1",
    "/api/v1/",
    "/api/v2/checkout-sessions",
    "/API/V1/CHECKOUT-SESSIONS",
    "/api/v1/checkout-sessions/",
    "/api//v1/checkout-sessions",
    "//api/v1/checkout-sessions",
    "/api/v1/checkout-sessions/../checkout-sessions",
    "/api/v1/tenants//checkout-sessions",
    "/checkout/",
    "/checkout",
  );
  const segments = fc.array(junkSegment, { minLength: 0, maxLength: 4 }).map((s) => s.join("/"));
  return fc.oneof(
    { weight: 2, arbitrary: known },
    segments.map((s) => `/api/v1/${s}`),
    segments.map((s) => `/checkout/${s}`),
    segments.map((s) => `/${s}`),
    junkSegment.map((id) => `/api/v1/tenants/${id}/checkout-sessions`),
    junkSegment.map((id) => `/api/v1/checkout-sessions/${id}`),
    fc
      .constantFrom(...fx.checkouts.map((c) => c.id))
      .map((id) => `/api/v1/checkout-sessions/${id}`),
    junkSegment.map((hash) => `/checkout/${hash}`),
    fc.constantFrom(...fx.checkouts.map((c) => c.hash)).map((hash) => `/checkout/${hash}`),
    longString(2000, 7000).map((s) => `/api/v1/${encodeURIComponent(s)}`),
  );
}

// ---------------------------------------------------------------------------------------------
// Sending a request and checking every invariant of the answer
// ---------------------------------------------------------------------------------------------

export interface RequestSpec {
  method: Method;
  path: string;
  query?: string;
  headers: HeaderList;
  body?: Body | null;
}

export interface Tally {
  tried: number;
  skipped: number;
  statuses: Record<number, number>;
  /** How often each error (its first words) was answered: shows which paths were reached. */
  errors: Record<string, number>;
}

export function newTally(): Tally {
  return { tried: 0, skipped: 0, statuses: {}, errors: {} };
}

function toBodyInit(body: Body): BodyInit {
  if (typeof body === "string" || body instanceof Uint8Array) return body;
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of body.stream) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

/** The request as fetch would build it, or null if fetch refuses it (e.g. a non-Latin-1 header). */
export function buildRequest(spec: RequestSpec): Request | null {
  // Header values are bytes without NUL, CR or LF. Fetch refuses characters above U+00FF;
  // workerd instead sends any non-ASCII character UTF-8 encoded (with a warning), which is not
  // what a client's raw Latin-1 bytes would be either, so those requests are skipped.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: exactly those characters are meant
  if (spec.headers.some(([, value]) => /[^\u0001-\u0009\u000b\u000c\u000e-\u007f]/.test(value))) {
    return null;
  }
  try {
    const headers = new Headers();
    for (const [name, value] of spec.headers) headers.append(name, value);
    const hasBody = spec.method !== "GET" && spec.method !== "HEAD";
    return new Request(`${ORIGIN}${spec.path}${spec.query ?? ""}`, {
      method: spec.method,
      headers,
      body:
        hasBody && spec.body !== undefined && spec.body !== null
          ? toBodyInit(spec.body)
          : undefined,
      redirect: "manual",
    });
  } catch {
    return null;
  }
}

export interface DbCounts {
  rows: number;
  opened: number;
  updated: number;
}

interface WriteSnapshot extends DbCounts {
  creates: number;
  sessions: number;
}

async function dbCounts(appIds: string[]): Promise<DbCounts> {
  const placeholders = appIds.map((_, i) => `?${i + 1}`).join(", ");
  const row = await env.DB.prepare(
    `SELECT COUNT(*) AS n, COUNT(opened_at) AS opened, TOTAL(updated_at) AS updated
       FROM checkout_sessions WHERE app_id IN (${placeholders})`,
  )
    .bind(...appIds)
    .first<{ n: number; opened: number; updated: number }>();
  return { rows: row?.n ?? 0, opened: row?.opened ?? 0, updated: row?.updated ?? 0 };
}

/**
 * The rows of the fixture's apps and the double's creates and sessions. Nothing but the
 * generated requests writes while a property runs (the worker uses no waitUntil), so the
 * counts after one request are the counts before the next: one D1 query per request.
 */
async function snapshot(checker: Checker, fresh: boolean): Promise<WriteSnapshot> {
  const db = !fresh && checker.lastDb ? checker.lastDb : await dbCounts(checker.fx.appIds);
  checker.lastDb = db;
  return { ...db, creates: stripe.creates().length, sessions: stripe.sessions.size };
}

const ENVELOPE_KEYS = ["data", "error", "message", "success"];
export const LONE_SURROGATE =
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text safe to put in an assertion message: lone surrogates written as escapes. (Vitest sends
 * messages from workerd over a WebSocket, which refuses them as invalid UTF-8 and loses the
 * failure.)
 */
export function printable(text: string): string {
  return text.replace(
    new RegExp(LONE_SURROGATE.source, "g"),
    (c) => `\\u${c.charCodeAt(0).toString(16)}`,
  );
}

/** The path as Hono routes it: percent-decoded by decodeURI where that succeeds. */
function routedPath(pathname: string): string {
  try {
    return decodeURI(pathname);
  } catch {
    return pathname;
  }
}

/** Whether a path (as the URL parser leaves it) is the payment page route `/checkout/:hash`. */
/** Everything under /checkout is the payment page's: its link, with a slash, or mangled. */
export function isPaymentPagePath(pathname: string): boolean {
  return /^\/checkout(\/|$)/.test(pathname);
}

function describeRequest(request: Request, spec: RequestSpec): string {
  const headers: string[] = [];
  request.headers.forEach((v, k) => {
    headers.push(`${k}: ${v.length > 120 ? `${v.slice(0, 120)}…(${v.length})` : v}`);
  });
  const body =
    spec.body === undefined || spec.body === null
      ? ""
      : typeof spec.body === "string"
        ? spec.body.length > 300
          ? `${spec.body.slice(0, 300)}…(${spec.body.length})`
          : spec.body
        : spec.body instanceof Uint8Array
          ? `<${spec.body.length} bytes>`
          : `<stream of ${spec.body.stream.map((c) => c.length).join("+")} characters>`;
  const url = request.url.length > 300 ? `${request.url.slice(0, 300)}…` : request.url;
  return `${request.method} ${url}\n${headers.join("\n")}\n\n${body}`;
}

export function expectEnvelope(
  text: string,
  status: number,
  context: string,
): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(
      `response (${status}) is not JSON: ${printable(text.slice(0, 200))}\n${context}`,
    );
  }
  expect(body !== null && typeof body === "object" && !Array.isArray(body), context).toBe(true);
  const envelope = body as Record<string, unknown>;
  expect(Object.keys(envelope).sort(), context).toEqual(ENVELOPE_KEYS);
  if (status === 200) {
    expect(envelope.success, context).toBe(true);
    expect(envelope.error, context).toBeNull();
    expect(typeof envelope.message === "string" && envelope.message.length > 0, context).toBe(true);
    expect(typeof envelope.data === "object" && envelope.data !== null, context).toBe(true);
  } else {
    expect(envelope.success, context).toBe(false);
    expect(envelope.message, context).toBeNull();
    expect(envelope.data, context).toBeNull();
    expect(typeof envelope.error === "string" && envelope.error.length > 0, context).toBe(true);
    // Never a stack trace, SQL, or an internal name.
    expect(String(envelope.error), context).not.toMatch(
      /\n\s+at |SQLITE|D1_|TypeError|SyntaxError/,
    );
  }
  // Whole characters only: no half of a surrogate pair (but for the known bug of the 404
  // text, see the test file).
  if (typeof envelope.error === "string" && !envelope.error.startsWith("No route for ")) {
    const error = envelope.error;
    expect(LONE_SURROGATE.test(error), `${printable(error)}\n${context}`).toBe(false);
  }
  return envelope;
}

export interface Checker {
  fx: Fixture;
  tally: Tally;
  /** Stripe session ids of accepted creates seen so far: a repeat is an idempotent replay. */
  acceptedIds: Set<string>;
  /** The worker's log lines (console.info and console.error, captured by the test). */
  logs: string[];
  /** The database counts after the last request (see snapshot). */
  lastDb?: DbCounts;
}

/**
 * Sends one generated request to the real worker and checks: no 5xx; the answer is the JSON
 * envelope (or, on the payment page, an HTML page or a 303 with `Cache-Control: no-store`);
 * `X-Request-Id` is set; nothing is written for a rejected request; an accepted create writes
 * exactly one row and makes at most one Stripe create.
 */
export async function sendAndCheck(checker: Checker, spec: RequestSpec): Promise<void> {
  const request = buildRequest(spec);
  if (!request) {
    checker.tally.skipped++;
    return;
  }
  const requestText = describeRequest(request, spec);
  const before = await snapshot(checker, false);
  const logsBefore = checker.logs.length;
  const response = await exports.default.fetch(request);
  const text = await response.text();
  const after = await snapshot(checker, true);
  const { status } = response;
  const logLines = checker.logs.slice(logsBefore);
  const context = printable(`${requestText}\n\nlog: ${logLines.join("\n")}`);
  checker.tally.tried++;
  checker.tally.statuses[status] = (checker.tally.statuses[status] ?? 0) + 1;

  expect(status, `${context}\n→ ${printable(text.slice(0, 300))}`).toBeLessThan(500);
  expect(status, context).toBeGreaterThanOrEqual(200);

  const sentId = request.headers.get("X-Request-Id");
  const id = response.headers.get("X-Request-Id");
  expect(id, context).toMatch(/^[\w\-=]{1,128}$/);
  if (sentId !== null && sentId.length <= 128 && /^[\w\-=]+$/.test(sentId)) {
    expect(id, context).toBe(sentId);
  }

  // Exactly one log line, for this request.
  expect(logLines, context).toHaveLength(1);
  const line = JSON.parse(logLines[0] ?? "null") as Record<string, unknown>;
  expect(line.requestId, context).toBe(id);
  expect(line.status, context).toBe(status);

  const url = new URL(request.url);
  const pagePath = isPaymentPagePath(url.pathname);
  const contentType = response.headers.get("Content-Type") ?? "";
  let envelope: Record<string, unknown> | null = null;

  if (pagePath) {
    // The payment page: every answer (405 included) is uncacheable.
    expect([303, 403, 404, 410, 405], `${context}\n→ ${printable(text.slice(0, 200))}`).toContain(
      status,
    );
    expect(response.headers.get("Cache-Control"), context).toBe("no-store");
    expect(response.headers.get("Set-Cookie"), context).toBeNull();
  }

  if (status === 303) {
    expect(pagePath && (request.method === "GET" || request.method === "HEAD"), context).toBe(true);
    const checkout = checker.fx.checkouts.find(
      (c) => url.pathname === `/checkout/${c.hash}` || url.pathname === `/checkout/${c.hash}/`,
    );
    expect(checkout, `303 for a hash that is not a real checkout\n${context}`).toBeDefined();
    expect(url.searchParams.get("state"), `303 without the right state\n${context}`).toBe(
      checkout?.state,
    );
    expect(response.headers.get("Location"), context).toMatch(
      /^https:\/\/checkout\.stripe\.test\//,
    );
  } else if (
    status === 200 &&
    (request.method === "GET" || request.method === "HEAD") &&
    ["/docs", "/openapi.json"].includes(routedPath(url.pathname))
  ) {
    // The API's documentation: the OpenAPI document (JSON, not an envelope) and its page.
    if (routedPath(url.pathname) === "/docs") expect(contentType, context).toMatch(/^text\/html/);
    else {
      expect(contentType, context).toMatch(/^application\/json/);
      if (request.method === "GET") expect(JSON.parse(text).openapi, context).toMatch(/^3\.1\./);
    }
  } else if (contentType.startsWith("text/html")) {
    expect(pagePath && (request.method === "GET" || request.method === "HEAD"), context).toBe(true);
    expect([403, 404, 410], context).toContain(status);
  } else if (
    status === 204 &&
    request.method === "OPTIONS" &&
    /^\/api\/v1(\/|$)/.test(url.pathname) &&
    request.headers.get("Origin") === KNOWN_BROWSER_ORIGIN
  ) {
    // A CORS preflight from a known browser origin: no body, by definition.
    expect(text, context).toBe("");
    expect(response.headers.get("Access-Control-Allow-Origin"), context).toBe(KNOWN_BROWSER_ORIGIN);
  } else {
    expect(contentType, `${context}\n→ ${printable(text.slice(0, 200))}`).toMatch(
      /^application\/json/,
    );
    if (request.method === "HEAD") expect(text, context).toBe("");
    else envelope = expectEnvelope(text, status, context);
  }

  if (typeof envelope?.error === "string") {
    const key = `${status} ${Array.from(envelope.error.replace(/[:(].*$/, ""))
      .slice(0, 50)
      .join("")}`;
    checker.tally.errors[key] = (checker.tally.errors[key] ?? 0) + 1;
  }

  const created =
    status === 200 && request.method === "POST" && envelope?.message === "Checkout session created";
  if (created) {
    const checkout = (envelope?.data as { checkout?: { id?: unknown } } | null)?.checkout;
    const sessionId = String(checkout?.id);
    const replay = checker.acceptedIds.has(sessionId);
    checker.acceptedIds.add(sessionId);
    expect(after.rows - before.rows, `accepted create: new rows\n${context}`).toBe(replay ? 0 : 1);
    expect(
      after.creates - before.creates,
      `accepted create: Stripe creates\n${context}`,
    ).toBeLessThanOrEqual(replay ? 0 : 1);
    expect(after.sessions - before.sessions, context).toBe(replay ? 0 : 1);
    return;
  }

  // Anything else wrote nothing: no row, no changed row, no Stripe session. Only Stripe's own
  // refusal may have reached Stripe (one create call that created nothing).
  expect(after.rows, `rows written by a ${status}\n${context}`).toBe(before.rows);
  if (status === 303) {
    // Opening the page records when it was first opened, and nothing else.
    expect(after.opened - before.opened, context).toBeLessThanOrEqual(1);
  } else {
    expect(after.updated, `rows changed by a ${status}\n${context}`).toBe(before.updated);
    expect(after.opened, `opened_at set by a ${status}\n${context}`).toBe(before.opened);
  }
  expect(after.sessions, `Stripe sessions created by a ${status}\n${context}`).toBe(
    before.sessions,
  );
  const stripeRefused =
    status === 400 &&
    typeof envelope?.error === "string" &&
    envelope.error.startsWith("Stripe refused");
  expect(after.creates - before.creates, `Stripe creates by a ${status}\n${context}`).toBe(
    stripeRefused ? 1 : 0,
  );
}
