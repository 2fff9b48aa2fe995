import { Schema } from "effect"
import { tokenPattern } from "./ids.ts"

/**
 * An id together with its tenant, as read models key their rows (`<tenant>.<id>`): ids of different tenants
 * may be equal, and both parts are tokens, which have no `.`, so the key splits back without doubt.
 */
export const TenantKey = Schema.String.pipe(Schema.brand("TenantKey"))
export type TenantKey = typeof TenantKey.Type

export const tenantKey = (tenant: string, id: string): TenantKey => `${tenant}.${id}` as TenantKey

/** The tenant and id of a key; undefined for a string that is not one. */
export const parseTenantKey = (key: string): { readonly tenant: string; readonly id: string } | undefined => {
  const [tenant, id, ...rest] = key.split(".")
  return tenant !== undefined && id !== undefined && rest.length === 0 && tokenPattern.test(tenant) && tokenPattern.test(id)
    ? { tenant, id }
    : undefined
}
