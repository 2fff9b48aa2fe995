import { streamNames } from "../nats/jetstreamSetup.ts"
import { tenantInboxPrefix, tenantJsApiPrefix } from "../nats/tenantConnection.ts"

/** The account tenants' users live in, apart from Umbra's streams (see `tenantConnection.ts`). */
export const tenantsAccount = "TENANTS"

const consumerCreate = `CONSUMER.CREATE.${streamNames.events}.>`

/**
 * What Umbra's account exports to the tenants' account and what that account imports: the command and
 * query services, consumer creation on UMBRA_EVENTS (under the tenants' own API prefix, since the account
 * has no JetStream to answer `$JS.API` itself), the flow control of those consumers, and each tenant's
 * inbox as a stream (where its consumers deliver). What each tenant may use of them, its permissions say.
 */
export const accountLinks = (umbraAccount: string, tenants: ReadonlyArray<string>) => {
  const services = [
    { subject: "umbra.cmd.>" },
    { subject: "umbra.query.>" },
    { subject: `$JS.API.${consumerCreate}`, to: `${tenantJsApiPrefix}.${consumerCreate}` },
    { subject: `$JS.FC.${streamNames.events}.>` }
  ]
  const inboxes = [...new Set(tenants)].sort().map((tenant) => `${tenantInboxPrefix(tenant)}.>`)
  return {
    exports: [
      ...services.map(({ subject }) => ({ service: subject, accounts: [tenantsAccount] })),
      ...inboxes.map((subject) => ({ stream: subject, accounts: [tenantsAccount] }))
    ],
    imports: [
      ...services.map(({ subject, to }) => ({ service: { account: umbraAccount, subject }, ...(to === undefined ? {} : { to }) })),
      ...inboxes.map((subject) => ({ stream: { account: umbraAccount, subject } }))
    ]
  }
}
