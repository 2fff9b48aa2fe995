import { Schema } from "effect"
import { ClientId } from "../../domain/ids.ts"

/** A query of the whole tenant: the tenant comes from the subject, so the body names nothing (`{}`). */
export const TenantWide = Schema.Struct({})

/** A query of one client of the tenant. */
export const OfClient = Schema.Struct({ clientId: ClientId })
