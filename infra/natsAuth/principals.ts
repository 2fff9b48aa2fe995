import { streamNames } from "../nats/jetstreamSetup.ts"

/** What a principal may publish and receive on Umbra's NATS server (the server config enforces it). */
export interface Permissions {
  readonly publish: ReadonlyArray<string>
  readonly subscribe: ReadonlyArray<string>
}

/** The inbox prefix of a tenant's connections: it receives its replies there and nowhere else. */
export const tenantInboxPrefix = (tenant: string) => `_INBOX_${tenant}`

export const tenantOfInboxPrefix = (prefix: string) => prefix.slice("_INBOX_".length)

const inboxPrefixPattern = /^(_INBOX_[a-z0-9][a-z0-9_-]{0,63})\.>$/

/** The tenant whose inbox a subscribe permission names, if it names one. */
export const inboxPrefixOf = (subscribe: ReadonlyArray<string>): string | undefined =>
  subscribe.map((subject) => inboxPrefixPattern.exec(subject)?.[1]).find((prefix) => prefix !== undefined)

/**
 * A tenant's public commands and queries, its own replies, and its events through a consumer filtered to
 * them: nats-server refuses a consumer-create body whose filter differs from the one in the subject, so
 * naming the filter in the subject is enough. The ordered consumer also asks for the stream's info, and
 * pulls with MSG.NEXT, which names no filter (the README says what that leaves open).
 */
export const tenantPermissions = (tenant: string): Permissions => ({
  publish: [
    `umbra.cmd.${tenant}.>`,
    `umbra.query.${tenant}.>`,
    `$JS.API.STREAM.INFO.${streamNames.events}`,
    `$JS.API.CONSUMER.CREATE.${streamNames.events}.*.umbra.evt.${tenant}.>`,
    `$JS.API.CONSUMER.MSG.NEXT.${streamNames.events}.*`
  ],
  subscribe: [`${tenantInboxPrefix(tenant)}.>`]
})

/**
 * One instance's agent: its own signals out, its own control requests in (and, under them, the heartbeat
 * echo) and their answers (`allow_responses`: only to a request's reply subject). Nothing of another instance.
 */
export const instancePermissions = (tenant: string, instanceId: string): Permissions => ({
  publish: [`umbra.sig.${tenant}.${instanceId}.>`],
  subscribe: [`umbra.ctl.${tenant}.${instanceId}`, `umbra.ctl.${tenant}.${instanceId}.>`]
})
