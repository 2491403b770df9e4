import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

/** The payment page's language, through the page itself (Hono's language detector). */
describe("the payment page's language", () => {
  it("picks the first of de and en by q", async () => {
    const pickLanguage = async (acceptLanguage: string | undefined) => {
      const headers: Record<string, string> = {};
      if (acceptLanguage !== undefined) headers["Accept-Language"] = acceptLanguage;
      const response = await exports.default.fetch(
        new Request("https://pay.example.test/checkout/", { headers }),
      );
      const text = await response.text();
      return /<html lang="(\w+)">/.exec(text)?.[1];
    };
    expect(await pickLanguage(undefined)).toBe("en");
    expect(await pickLanguage("")).toBe("en");
    expect(await pickLanguage("*")).toBe("en");
    expect(await pickLanguage("DE")).toBe("de");
    expect(await pickLanguage("de-CH")).toBe("de");
    expect(await pickLanguage("de;q=0.5, en;q=0.7")).toBe("en");
    expect(await pickLanguage("en;q=0.5, de;q=0.7")).toBe("de");
    expect(await pickLanguage("en, de")).toBe("en");
    expect(await pickLanguage("de, en")).toBe("de");
    expect(await pickLanguage("de;q=0.8, en;q=0.8")).toBe("de");
    expect(await pickLanguage("de;q=0, en;q=0.1")).toBe("en");
    expect(await pickLanguage("de;q=0")).toBe("en");
    expect(await pickLanguage("dex, deutsch, end")).toBe("en");
    // A malformed or out-of-range q counts as 1 (Hono's reading; this page once ignored such an
    // entry). Either way the page is readable: this only picks its language.
    expect(await pickLanguage("de;q=abc, en;q=0.3")).toBe("de");
    expect(await pickLanguage("de;q=2, en;q=0.3")).toBe("de");
    expect(await pickLanguage("de;q=-1, en;q=0.3")).toBe("en");
    expect(await pickLanguage("en-GB;q=0.9, de-AT;q=0.95")).toBe("de");
    expect(await pickLanguage(" de-at ; q = 0.9 , en ; q = 0.8 ")).toBe("de");
  });
});
