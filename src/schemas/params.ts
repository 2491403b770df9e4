import * as z from "zod";

/** The read route's path: a Stripe Checkout Session id, as the create route returns it. */
export const sessionIdParamSchema = z.object({
  id: z
    .string()
    .regex(
      /^cs_(test|live)_[A-Za-z0-9]{1,250}$/,
      "id in the path must be a Stripe Checkout Session id (cs_…)",
    )
    .meta({
      description:
        "The Stripe Checkout Session id that the create route returned as data.checkout.id",
    }),
});
