import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { MESSAGES } from "./messages.ts";

/** The closed set of failures this API answers with, each with its one status. */
const STATUS_BY_CODE = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  gone: 410,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  stripe_failed: 502,
  stripe_unavailable: 503,
  stripe_timeout: 504,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof STATUS_BY_CODE;

/**
 * The one error type of the service. `message` is shown to the caller as the envelope's
 * `error`, so it must be safe to show: no secrets, SQL, stack traces or Stripe internals.
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { headers?: Record<string, string>; cause?: unknown },
  ) {
    super(message, { cause: options?.cause });
    this.name = "ApiError";
    this.code = code;
    this.headers = options?.headers ?? {};
  }

  get status(): ContentfulStatusCode {
    return STATUS_BY_CODE[this.code];
  }
}

export type Envelope<T> =
  | { success: true; message: string; error: null; data: T }
  | { success: false; message: null; error: string; data: null };

export function successEnvelope<T>(message: string, data: T): Envelope<T> {
  return { success: true, message, error: null, data };
}

export function failureEnvelope(error: string): Envelope<never> {
  return { success: false, message: null, error, data: null };
}

const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = Object.fromEntries(
  Object.entries(STATUS_BY_CODE).map(([code, status]) => [status, code as ErrorCode]),
);

/** Turns anything thrown into an ApiError without ever exposing an internal message. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    // Hono's own exceptions (malformed JSON, body limit) carry messages meant for callers.
    if (err.status === 413) return new ApiError("bad_request", "Request body is too large");
    const code = CODE_BY_STATUS[err.status] ?? (err.status < 500 ? "bad_request" : "internal");
    const message = err.status < 500 && err.message ? err.message : MESSAGES.internal;
    return new ApiError(code, message, { cause: err });
  }
  return new ApiError("internal", MESSAGES.internal, { cause: err });
}

/** The one renderer: every failure leaves the service through here, in the envelope. */
export function renderError(c: Context, err: ApiError): Response {
  for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
  return c.json(failureEnvelope(err.message), err.status);
}

/** Stripe keys (also masked, as Stripe names a key it refuses) and webhook signing secrets. */
const SECRET_LIKE = /\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9*]+|\bwhsec_[A-Za-z0-9+/=]+/g;

/**
 * An error as a log line carries it: its name and message, cut to `max` characters, with
 * anything that looks like a key or secret blanked (a library's message may quote one).
 */
export function errorForLog(err: unknown, max: number): string {
  if (!(err instanceof Error)) return "unknown";
  return `${err.name}: ${err.message}`.replace(SECRET_LIKE, "[redacted]").slice(0, max);
}
