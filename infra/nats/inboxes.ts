/** The inbox prefix of a tenant's connections: it receives its replies there and nowhere else. */
export const tenantInboxPrefix = (tenant: string) => `_INBOX_${tenant}`

export const tenantOfInboxPrefix = (prefix: string) => prefix.slice("_INBOX_".length)

/**
 * Whether a request on `subject` (`umbra.<kind>.<tenant>.…`) may be answered on `reply`: on the default
 * inbox (only Umbra's own principal receives there) or on the inbox of the tenant the subject names.
 * nats-server does not check a reply subject against the requester's permissions, so a tenant could
 * otherwise have Umbra publish its answer anywhere, such as on another tenant's `umbra.evt.…` subjects.
 */
export const mayAnswerOn = (subject: string, reply: string) => {
  const tenant = subject.split(".")[2]
  return reply.startsWith("_INBOX.") || (tenant !== undefined && tenant !== "" && reply.startsWith(`${tenantInboxPrefix(tenant)}.`))
}
