import type { Credential } from "../env.ts";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";

/**
 * The tenant routes' rule: API keys act for any tenant of their app; an access token only for
 * the tenant its tenantId claim names (a token without one, for none).
 */
export function assertTenantAccess(credential: Credential, tenantId: string): void {
  if (credential.kind === "access_token" && credential.tenantId !== tenantId) {
    throw new ApiError("forbidden", MESSAGES.tokenOtherTenant);
  }
}
