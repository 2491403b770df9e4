import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/crypto.ts";

describe("sha256Hex (API-key digests, state digests: what KV and D1 are keyed by)", () => {
  it("is SHA-256 in lowercase hex, as published test vectors and node:crypto say", async () => {
    expect(await sha256Hex("")).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    expect(await sha256Hex("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    for (const text of ["cko_write_x", "ü€😀", "\u0000\u00ff", "a".repeat(1000), "~._-Az09"]) {
      expect(await sha256Hex(text)).toBe(createHash("sha256").update(text, "utf8").digest("hex"));
    }
  });
});
