import { env, exports } from "cloudflare:workers";
import { exampleCreateBody } from "../../../src/schemas/example-body.ts";

interface EnvelopeBody {
  success: boolean;
  message: string | null;
  error: string | null;
  data: Record<string, unknown> | null;
}

export interface CallResult {
  response: Response;
  status: number;
  body: EnvelopeBody;
}

const ORIGIN = "https://pay.example.test";

/** Calls the real worker (its default export) and parses the envelope. */
export async function call(path: string, init: RequestInit = {}): Promise<CallResult> {
  const response = await exports.default.fetch(new Request(`${ORIGIN}${path}`, init));
  const text = await response.text();
  let body: EnvelopeBody;
  try {
    body = JSON.parse(text) as EnvelopeBody;
  } catch {
    throw new Error(`response is not JSON (status ${response.status}): ${text.slice(0, 200)}`);
  }
  return { response, status: response.status, body };
}

export function postJson(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<CallResult> {
  return call(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The API's example body (src/schemas/example-body.ts); overrides may make it invalid on purpose. */
export function validBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...exampleCreateBody("s".repeat(64)), ...overrides };
}

export interface CheckoutRow {
  id: string;
  hash: string;
  app_id: string;
  tenant_id: string | null;
  livemode: number;
  state_digest: string;
  status: string;
  stripe_session_id: string | null;
  stripe_url: string | null;
  stripe_account: string | null;
  mode: string;
  price: string;
  quantity: number;
  tax_rate: string;
  allowed_country: string;
  payment_method: string;
  billing_address_collection: number;
  reverse_charge: number;
  created_at: number;
  expires_at: number;
  opened_at: number | null;
  completed_at: number | null;
}

export async function rowsOfApp(appId: string): Promise<CheckoutRow[]> {
  const { results } = await env.DB.prepare(
    "SELECT * FROM checkout_sessions WHERE app_id = ?1 ORDER BY created_at",
  )
    .bind(appId)
    .all<CheckoutRow>();
  return results;
}
