import { tenantInboxPrefix, tenantJsApiPrefix } from "../nats/tenantConnection.ts"
import { streamNames } from "../nats/jetstreamSetup.ts"

/** What a principal may publish and receive on Umbra's NATS server (the server config enforces it). */
export interface Permissions {
  readonly publish: ReadonlyArray<string>
  readonly subscribe: ReadonlyArray<string>
  /** May publish to the reply subject of a message it received (once), whatever `publish` says. */
  readonly allowResponses: boolean
}

const inboxPrefixPattern = /^(_INBOX_[a-z0-9][a-z0-9_-]{0,63})\.>$/

/** The tenant whose inbox a subscribe permission names, if it names one. */
export const inboxPrefixOf = (subscribe: ReadonlyArray<string>): string | undefined =>
  subscribe.map((subject) => inboxPrefixPattern.exec(subject)?.[1]).find((prefix) => prefix !== undefined)

/**
 * A tenant's public commands and queries, its own replies, and its events through a consumer filtered to
 * them, in the tenants' account (see `tenantConnection.ts`): nats-server refuses a consumer-create body
 * whose filter differs from the one in the subject, so naming the filter in the subject is enough. The
 * consumer pushes to the tenant's inbox (an ordered push consumer), so no pull is allowed: `MSG.NEXT` names
 * a consumer, not a filter, and would let a tenant pull from any of Umbra's durable consumers whose name it
 * knows. The tenant answers the consumer's flow control (`allowResponses`): only to the reply subject of a
 * message it received.
 */
export const tenantPermissions = (tenant: string): Permissions => ({
  publish: [
    `umbra.cmd.${tenant}.>`,
    `umbra.query.${tenant}.>`,
    `${tenantJsApiPrefix}.CONSUMER.CREATE.${streamNames.events}.*.umbra.evt.${tenant}.>`
  ],
  subscribe: [`${tenantInboxPrefix(tenant)}.>`],
  allowResponses: true
})

/**
 * One instance's agent: its own signals out, its own control requests in (and, under them, the heartbeat
 * echo) and their answers (`allowResponses`: only to a request's reply subject). Nothing of another instance.
 */
export const instancePermissions = (tenant: string, instanceId: string): Permissions => ({
  publish: [`umbra.sig.${tenant}.${instanceId}.>`],
  subscribe: [`umbra.ctl.${tenant}.${instanceId}`, `umbra.ctl.${tenant}.${instanceId}.>`],
  allowResponses: true
})
