import fc from "fast-check";

/** The small generators the body, header and path generators are built from. */

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

export const anyText = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme-ascii", maxLength: 40 }),
  fc.string({ maxLength: 20 }).map((s) => `${s}\u0000${s}`),
);

/**
 * Text for header values: mostly ASCII (control characters included), some Unicode, which
 * cannot be a header value (those requests are skipped, see buildRequest).
 */
export const headerText = fc.oneof(
  { weight: 7, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 40 }) },
  { weight: 4, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 10 }) },
);

/** Raw JSON number texts, some beyond what a double or a safe integer holds. */
export const rawNumber = fc.oneof(
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
