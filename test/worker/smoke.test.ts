import { describe, expect, it } from "vitest";
import { givenWriter, newState } from "./helpers/apps.ts";
import { postJson, rowsOfApp, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";

describe("smoke", () => {
  it("creates a checkout", async () => {
    const { app, headers } = await givenWriter();
    const res = await postJson("/api/v1/checkout-sessions", validBody({ state: newState() }), headers);
    expect(res.body).toMatchObject({ success: true });
    expect(res.status).toBe(200);
    expect(stripe.creates()).toHaveLength(1);
    expect(await rowsOfApp(app.id)).toHaveLength(1);
  });
});
