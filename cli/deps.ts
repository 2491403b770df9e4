import type { CliBindings } from "./platform.ts";

/** What every command runs against. */
export type Deps = {
  /**
   * The worker's bindings (cli/platform.ts: APPS, and DB for the commands that need it), opened
   * on the first call. A command checks all of its input before it asks, so that a bad flag is
   * refused without starting workerd, or a remote session that needs a login.
   */
  bindings: () => Promise<CliBindings>;
  /** Injected so that tests can control createdAt/revokedAt. */
  now?: () => Date;
};

export function timestamp(deps: Deps): string {
  return (deps.now?.() ?? new Date()).toISOString();
}
