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

/**
 * Who reads a checkout: API keys all of their app's; a token with a tenant that tenant's; a
 * token without one only the tenant-less checkouts that a token of its own subject created (a
 * token without a subject cannot be told from another: none).
 */
export function mayReadCheckout(
  credential: Credential,
  checkout: { tenantId: string | null; createdBy: string | null },
): boolean {
  if (credential.kind === "api_key") return true;
  if (credential.tenantId !== null) return checkout.tenantId === credential.tenantId;
  return (
    checkout.tenantId === null &&
    credential.subject !== null &&
    checkout.createdBy === credential.subject
  );
}
