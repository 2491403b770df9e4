import type { Deps } from "./deps.ts";

/**
 * The shape of a command in the command table of cli/admin.ts, in a file of its own so that a
 * group of commands can keep its table elsewhere (cli/webhook-commands.ts).
 */

/** One flag, as node:util's parseArgs takes it. */
type OptionSpec = { type: "string" | "boolean"; multiple?: boolean; short?: string };

/** The values parseArgs returns for a set of flags; every one may be absent. */
export type ValuesOf<O extends Record<string, OptionSpec>> = {
  [K in keyof O]?: O[K]["type"] extends "boolean"
    ? boolean
    : O[K] extends { multiple: true }
      ? string[]
      : string;
};

/**
 * A command's result: the JSON object to print, and its human wording, line by line (printed by
 * cli/printable.ts, which escapes what each line holds).
 */
export type Output = { json: object; lines: string[] };

export type Command<V> = {
  flags: string[];
  required: string[];
  /** How many positional arguments follow the command's words. */
  args: number;
  argName?: string;
  run: (deps: Deps, values: V, args: string[]) => Promise<Output>;
};
