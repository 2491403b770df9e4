import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../errors.ts";

/** Request bodies of JSON routes are small; anything larger is refused before it is read. */
export const MAX_BODY_BYTES = 8 * 1024;

export const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError(
      "bad_request",
      `Request body is too large (at most ${MAX_BODY_BYTES} bytes)`,
    );
  },
});
