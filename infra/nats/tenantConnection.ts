/**
 * How a tenant's connection differs from Umbra's own. On Umbra's server tenants live in an account of their
 * own (TENANTS) that imports Umbra's command and query services and the one JetStream request they may
 * make, consumer creation, under `tenantJsApiPrefix`: the account has no JetStream of its own, and a
 * request's reply subject then names a subject of the tenants' account, never one of Umbra's streams.
 */

/** The inbox prefix of a tenant's connections: it receives its replies and its events' deliveries there and nowhere else. */
export const tenantInboxPrefix = (tenant: string) => `_INBOX_${tenant}`

export const tenantOfInboxPrefix = (prefix: string) => prefix.slice("_INBOX_".length)

/** Whether a connection's inbox prefix is a tenant's (Umbra's own connection keeps the default `_INBOX`). */
export const isTenantInboxPrefix = (prefix: string | undefined): prefix is string => prefix !== undefined && prefix.startsWith("_INBOX_")

/** Where a tenant's JetStream client sends its API requests (`jetstream(nc, { apiPrefix })`). */
export const tenantJsApiPrefix = "umbra.js.API"

/**
 * Whether a request on `subject` (`umbra.<kind>.<tenant>.…`) may be answered on `reply`: on the default
 * inbox (only Umbra's own principal receives there), on a service import's response subject (`_R_.…`, a
 * tenant's request from its own account), or on the inbox of the tenant the subject names. nats-server does
 * not check a reply subject against the requester's permissions, so a requester in Umbra's account could
 * otherwise have Umbra publish its answer anywhere, such as on another tenant's `umbra.evt.…` subjects.
 */
export const mayAnswerOn = (subject: string, reply: string) => {
  const tenant = subject.split(".")[2]
  return reply.startsWith("_INBOX.") || reply.startsWith("_R_.") ||
    (tenant !== undefined && tenant !== "" && reply.startsWith(`${tenantInboxPrefix(tenant)}.`))
}
