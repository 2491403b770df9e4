import { expect } from "vitest";
import {
  endpointWithSecretAnswerSchema,
  eventListAnswerSchema,
} from "../../../src/schemas/outbound-views.ts";
import { newState } from "./apps.ts";
import { call, postJson, validBody } from "./http.ts";
import { stripe } from "./stripe.ts";
import { deliver, sessionEvent } from "./webhooks.ts";

/** The outbound webhook routes (as the document names them), and how tests get an event. */

export const ENDPOINTS = "/api/v1/webhook-endpoints";
export const ENDPOINT = "/api/v1/webhook-endpoints/{id}";
export const ROTATE = "/api/v1/webhook-endpoints/{id}/rotate-secret";
export const EVENTS = "/api/v1/webhook-events";
export const DELIVERIES = "/api/v1/webhook-deliveries";
export const REDELIVER = "/api/v1/webhook-events/{id}/redeliver";

export const json = (
  method: string,
  body: unknown,
  headers: Record<string, string>,
): RequestInit => ({
  method,
  headers: { "Content-Type": "application/json", ...headers },
  body: JSON.stringify(body),
});

/** A test-mode checkout of the app, completed and paid: its events, sent to nobody yet. */
export async function paidCheckout(headers: Record<string, string>) {
  const created = await postJson(
    "/api/v1/checkout-sessions",
    validBody({ state: newState() }),
    headers,
  );
  expect(created.status).toBe(200);
  const { id, hash } = (created.body.data as { checkout: { id: string; hash: string } }).checkout;
  const event = sessionEvent("checkout.session.completed", {
    id,
    status: "complete",
    payment_status: "paid",
    customer: stripe.addCustomer(false),
    payment_intent: "pi_openapi",
    metadata: { checkout_hash: hash },
  });
  expect((await deliver(event)).status).toBe(200);
  const listed = await call(`${EVENTS}?test=true&type=checkout.completed`, { headers });
  const [completed] = eventListAnswerSchema.parse(listed.body.data).events;
  if (!completed) throw new Error("no checkout.completed event");
  return completed;
}

export async function registered(headers: Record<string, string>, body: Record<string, unknown>) {
  const res = await postJson(ENDPOINTS, body, headers);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return endpointWithSecretAnswerSchema.parse(res.body.data).endpoint;
}
