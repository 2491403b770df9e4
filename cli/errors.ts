/** Bad input from the operator: exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Valid input that cannot be carried out (unknown app, disabled app, …): exit code 1. */
export class CommandError extends Error {
  override name = "CommandError";
}
