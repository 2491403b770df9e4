import type { KVNamespace } from "@cloudflare/workers-types";

/** The two things the commands need from the APPS namespace beyond one `get` or `put`. */

/** Every key name that starts with `prefix`, sorted; KV answers in pages of up to 1000. */
export async function listNames(kv: KVNamespace, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await kv.list({ prefix, cursor });
    names.push(...page.keys.map((key) => key.name));
    if (page.list_complete) break;
    cursor = page.cursor;
  }
  return names.sort();
}

/**
 * Writes one entry after the other, in the order given: KV has no transactions, so the order
 * is what decides the state left behind when a command stops half-way.
 */
export async function putInOrder(
  kv: KVNamespace,
  entries: readonly (readonly [key: string, value: string])[],
): Promise<void> {
  for (const [key, value] of entries) await kv.put(key, value);
}
