import type { Handler } from "hono";
import type { HonoEnv } from "../env.ts";
import { ApiError } from "../errors.ts";

/** Mounted after a path's real methods: any other method gets 405 with `Allow`. */
export function methodNotAllowed(...allowed: string[]): Handler<HonoEnv> {
  const allow = allowed.join(", ");
  return (c) => {
    throw new ApiError(
      "method_not_allowed",
      `Method ${c.req.method} is not allowed here; use ${allow}`,
      {
        headers: { Allow: allow },
      },
    );
  };
}
