/**
 * Characters that are not shown as themselves, and with which a text can make a terminal (or a
 * reader) see something else: Unicode's controls (Cc: C0 with tab, line feed and ESC, DEL, C1
 * with the 8-bit CSI), its format characters (Cf: the bidi embeddings, overrides, isolates and
 * marks, zero-width characters, the soft hyphen, tags) and the line and paragraph separators
 * (Zl, Zp). Refused in what apps store for people to read; escaped in what the operator's CLI
 * prints.
 */
export const CONTROL_CHARACTER = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
