import { Schema } from "effect"
import { ClientId } from "../../domain/ids.ts"

/**
 * A query of the whole tenant: the tenant comes from the subject, so the body is an object that names
 * nothing (`{}`). A Record, since an empty Struct would take any value but null.
 */
export const TenantWide = Schema.Record(Schema.String, Schema.Unknown)

/** A query of one client of the tenant. */
export const OfClient = Schema.Struct({ clientId: ClientId })
