import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";

/** Request bodies of the JSON API are small; anything larger is refused before it is read. */
export const MAX_BODY_BYTES = 8 * 1024;
/** Stripe's event payloads are larger, but bounded. */
export const MAX_WEBHOOK_BYTES = 512 * 1024;

export function limitBodyTo(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError("bad_request", MESSAGES.bodyTooLarge(maxBytes));
    },
  });
}

export const limitBody = limitBodyTo(MAX_BODY_BYTES);
