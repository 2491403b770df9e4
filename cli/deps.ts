import type { KvStore } from "./kv.ts";

/** What every command runs against. */
export type Deps = {
  kv: KvStore;
  /** Injected so that tests can control createdAt/revokedAt. */
  now?: () => Date;
};

export function timestamp(deps: Deps): string {
  return (deps.now?.() ?? new Date()).toISOString();
}
