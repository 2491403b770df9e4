import fc from "fast-check";
import { anyText, hostileValueText, longString, rawNumber, stateArb } from "./primitives.ts";

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

const BODY_FIELDS = Object.keys(plausibleField);

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

/** A body sent as a stream of chunks, without Content-Length. */
interface StreamedBody {
  stream: string[];
}

export type Body = string | Uint8Array | StreamedBody;

/** Bodies a careless or hostile client might send, as text or bytes. */
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
