import { CONTROL_CHARACTER } from "../src/control-characters.ts";
import type { Output } from "./command.ts";

/**
 * The CLI's one way to the terminal. Whatever it prints may hold text that apps or other people
 * chose (an endpoint's description, a name typed in a command, a message from D1), and a
 * terminal obeys the escape sequences in it: every control character is printed as the `\uXXXX`
 * that JSON writes for it. The CLI's own line breaks are the separators of Output.lines, so a
 * line break inside a value cannot start a line that looks like the CLI's.
 */

const CONTROL_CHARACTERS = new RegExp(CONTROL_CHARACTER.source, "gu");

const asEscapes = (character: string): string =>
  Array.from(
    { length: character.length },
    (_, i) => `\\u${character.charCodeAt(i).toString(16).padStart(4, "0")}`,
  ).join("");

/**
 * A line with its control characters escaped. JSON text stays valid JSON of the same value:
 * JSON.stringify already writes C0 as escapes, and the others (DEL, C1, bidi) occur only
 * inside its strings, where an escape means the same character.
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROL_CHARACTERS, asEscapes);
}

/** A command's output as printed: its JSON object on one line, or its lines of text. */
export function printable(output: Output, json: boolean): string {
  return json
    ? escapeControls(JSON.stringify(output.json))
    : output.lines.map(escapeControls).join("\n");
}
