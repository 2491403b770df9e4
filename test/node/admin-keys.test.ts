import { describe, expect, it } from "vitest";
import { createApp, disableApp } from "../../cli/apps.ts";
import { CommandError, UsageError } from "../../cli/errors.ts";
import { createKey, listKeys, revokeKey } from "../../cli/keys.ts";
import { listNames } from "../../cli/kv.ts";
import { API_KEY_PATTERN } from "../../src/apps/keys.ts";
import { keyRecordSchema, kvKeys } from "../../src/apps/records.ts";
import { clearRecordCache } from "../../src/apps/store.ts";
import { sha256Hex } from "../../src/crypto.ts";
import { UNKNOWN_APP, useLocalApps } from "./helpers/local-apps.ts";

const { apps, allNames, setup, verify } = useLocalApps();

describe("key commands", () => {
  it("creates a key, stores only its digest, and the worker accepts it", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    const created = await createKey(deps, { appId: app.id, type: "write", label: "server" });

    expect(created.key).toMatch(API_KEY_PATTERN);
    expect(created).toMatchObject({ appId: app.id, type: "write", label: "server" });
    const digest = await sha256Hex(created.key);
    const record = keyRecordSchema.parse(
      JSON.parse((await apps().get(kvKeys.apiKey(digest))) ?? ""),
    );
    expect(record).toEqual({
      id: created.id,
      appId: app.id,
      type: "write",
      label: "server",
      createdAt: created.createdAt,
      revokedAt: null,
    });
    expect(await apps().get(kvKeys.appKey(app.id, created.id))).toBe(digest);
    expect(await apps().get(kvKeys.keyById(created.id))).toBe(digest);
    // The key itself is nowhere in KV, neither as a name nor in a value.
    for (const name of await allNames()) {
      expect(name).not.toContain(created.key);
      expect(await apps().get(name)).not.toContain(created.key);
    }
    await expect(verify(app.id, created.key, "write")).resolves.toMatchObject({
      key: { id: created.id },
    });
  });

  it("refuses a bad type or label, and unknown or disabled apps", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    await expect(createKey(deps, { appId: app.id, type: "admin" })).rejects.toThrow("--type");
    await expect(
      createKey(deps, { appId: app.id, type: "read", label: "x".repeat(201) }),
    ).rejects.toThrow("--label");
    await expect(createKey(deps, { appId: UNKNOWN_APP, type: "read" })).rejects.toThrow(
      /not found/,
    );
    await disableApp(deps, app.id);
    const disabled = createKey(deps, { appId: app.id, type: "read" });
    await expect(disabled).rejects.toBeInstanceOf(CommandError);
    await expect(disabled).rejects.toThrow(/disabled/);
    expect(await listNames(apps(), "apikey:")).toEqual([]);
  });

  it("lists an app's keys without key material or digests", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    const other = await createApp(deps, { name: "Other" });
    const read = await createKey(deps, { appId: app.id, type: "read" });
    const write = await createKey(deps, { appId: app.id, type: "write", label: "ci" });
    await createKey(deps, { appId: other.id, type: "write" });

    const listing = await listKeys(deps, app.id);
    expect(listing).toEqual({
      appId: app.id,
      keys: [
        { id: read.id, type: "read", label: null, createdAt: read.createdAt, revokedAt: null },
        { id: write.id, type: "write", label: "ci", createdAt: write.createdAt, revokedAt: null },
      ],
    });
    const text = JSON.stringify(listing);
    for (const key of [read.key, write.key]) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(await sha256Hex(key));
    }
    await expect(listKeys(deps, UNKNOWN_APP)).rejects.toBeInstanceOf(CommandError);
  });

  it("revokes idempotently, keeping the first revokedAt, and the key stops verifying", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    const created = await createKey(deps, { appId: app.id, type: "read" });

    const first = await revokeKey(deps, created.id);
    expect(first).toMatchObject({ id: created.id, appId: app.id, alreadyRevoked: false });
    expect(first.revokedAt).not.toBeNull();
    const second = await revokeKey(deps, created.id);
    expect(second).toMatchObject({ alreadyRevoked: true, revokedAt: first.revokedAt });

    const listing = await listKeys(deps, app.id);
    expect(listing.keys[0]?.revokedAt).toBe(first.revokedAt);
    // The worker caches key records for up to 30 s per isolate (documented bound); a new
    // isolate, as here after clearing, sees the revocation at once.
    clearRecordCache();
    await expect(verify(app.id, created.key, "read")).rejects.toThrow(/revoked/);
  });

  it("fails to revoke an unknown or malformed key id", async () => {
    const deps = setup();
    await expect(revokeKey(deps, "key_aaaaaaaaaaaaaaaaaaaa")).rejects.toBeInstanceOf(CommandError);
    await expect(revokeKey(deps, "nope")).rejects.toBeInstanceOf(UsageError);
  });
});
