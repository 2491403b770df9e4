import { json, refusalBody, StripeRefusal } from "./wire.ts";

/** Stripe prunes a key's saved result once it is at least 24 hours old. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

interface SavedResult {
  endpoint: string;
  params: string;
  status: number;
  payload: unknown;
  headers?: Record<string, string>;
  savedAt: number;
}

export interface Executed {
  status: number;
  payload: unknown;
  /** Headers of the answer that are saved and replayed with it (Stripe-Should-Retry). */
  headers?: Record<string, string>;
}

/**
 * Stripe's idempotency layer, as Stripe documents it (docs.stripe.com/api/idempotent_requests):
 * the status and body of the first request with a key are saved once its execution began,
 * refusals included, and later requests with that key get them back (`Idempotent-Replayed`)
 * for 24 hours; the same key with other parameters or on another endpoint is a 400
 * `idempotency_error`; a request while another with its key still executes is a 409; a request
 * refused before execution (its parameters) saves nothing. Keys are per account and mode.
 */
export class IdempotencyLayer {
  private readonly saved = new Map<string, SavedResult>();
  private readonly inFlight = new Set<string>();
  private readonly clock: () => number;

  constructor(clock: () => number) {
    this.clock = clock;
  }

  clear(): void {
    this.saved.clear();
    this.inFlight.clear();
  }

  async run(
    scope: string,
    key: string | undefined,
    endpoint: string,
    form: Record<string, string>,
    execute: () => Promise<Executed>,
  ): Promise<Response> {
    if (!key) return this.answer(execute);
    const id = `${scope}\u0000${key}`;
    this.prune();
    if (this.inFlight.has(id)) {
      return json(409, {
        error: {
          type: "idempotency_error",
          message: `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
        },
      });
    }
    const params = JSON.stringify(Object.entries(form).sort(([a], [b]) => (a < b ? -1 : 1)));
    const seen = this.saved.get(id);
    if (seen) {
      const mismatch =
        seen.endpoint !== endpoint
          ? `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${endpoint}' vs '${seen.endpoint}').`
          : seen.params !== params
            ? "Keys for idempotent requests can only be used with the same parameters they were first used with."
            : null;
      if (mismatch) {
        return json(400, {
          error: {
            type: "idempotency_error",
            message: `${mismatch} Try using a key other than '${key}' if you meant to execute a different request.`,
          },
        });
      }
      return json(seen.status, seen.payload, { ...seen.headers, "Idempotent-Replayed": "true" });
    }
    this.inFlight.add(id);
    try {
      return await this.answer(execute, (result) =>
        this.saved.set(id, { endpoint, params, ...result, savedAt: this.clock() }),
      );
    } finally {
      this.inFlight.delete(id);
    }
  }

  private async answer(
    execute: () => Promise<Executed>,
    save: (result: Executed) => void = () => undefined,
  ): Promise<Response> {
    try {
      const result = await execute();
      save(result);
      return json(result.status, result.payload, result.headers);
    } catch (err) {
      if (!(err instanceof StripeRefusal)) throw err;
      const refused = { status: err.status, payload: refusalBody(err) };
      if (err.saved) save(refused);
      return json(refused.status, refused.payload);
    }
  }

  /** Results are saved in time order, so the expired ones are the first few. */
  private prune(): void {
    const cutoff = this.clock() - IDEMPOTENCY_RETENTION_MS;
    for (const [id, result] of this.saved) {
      if (result.savedAt >= cutoff) break;
      this.saved.delete(id);
    }
  }
}
