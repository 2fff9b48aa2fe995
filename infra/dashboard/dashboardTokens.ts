import { Effect, Schema } from "effect"
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { tokenPattern } from "../../domain/ids.ts"
import { listTenants } from "../natsAuth/tenantCredentials.ts"

/** Who a dashboard token speaks for: the operator sees every tenant, a tenant (or one named holder of its tokens) only itself. */
export type Viewer = { readonly kind: "operator" } | { readonly kind: "tenant"; readonly tenant: string; readonly holder?: string }

export class DashboardKeyFailed extends Schema.TaggedError<DashboardKeyFailed>()("DashboardKeyFailed", {
  message: Schema.String
}) {}

/** The server secret every dashboard token is derived from; deleting it (and restarting) voids every token. */
export const dashboardKeyPath = (dataDir: string) => join(dataDir, "http", "dashboard.key")

const keyBytes = 32

/**
 * The server secret: 32 random bytes, hex, in the data directory (0600), made on first use. Written to a file
 * of its own and linked into place, so a `umbra serve` and a `umbra tenant token` starting together agree on one.
 */
export const loadDashboardKey = (dataDir: string) =>
  Effect.try({
    try: () => {
      const path = dashboardKeyPath(dataDir)
      mkdirSync(join(dataDir, "http"), { recursive: true, mode: 0o700 })
      const draft = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`
      writeFileSync(draft, `${randomBytes(keyBytes).toString("hex")}\n`, { mode: 0o600, flag: "wx" })
      try {
        linkSync(draft, path)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
      } finally {
        unlinkSync(draft)
      }
      const key = Buffer.from(readFileSync(path, "utf8").trim(), "hex")
      if (key.length !== keyBytes) throw new Error(`${path} does not hold ${keyBytes} hex bytes; delete it to make a new one (every token changes)`)
      return key
    },
    catch: (error) => new DashboardKeyFailed({ message: `the dashboard's key: ${error instanceof Error ? error.message : String(error)}` })
  })

// The purposes are apart from any tenant name (which has no `:`), so no tenant's MAC is the operator's.
const mac = (key: Buffer, purpose: string) => createHmac("sha256", key).update(`umbra-dashboard:${purpose}`).digest("base64url")

/**
 * How many of a tenant's NATS credentials were ever revoked: a tenant's token covers this count, so
 * `umbra tenant revoke` voids every token made before it (0 for a tenant Umbra never issued credentials).
 */
export type RevocationCount = (tenant: string) => Effect.Effect<number, DashboardKeyFailed>

/** How often a holder's token of a tenant was revoked (`umbra tenant revoke-token`): its token covers this count too. */
export type HolderRevocationCount = (tenant: string, holder: string) => Effect.Effect<number, DashboardKeyFailed>

/** What a token is checked against: the server's key, and the revocations as the data directory has them now. */
export interface TokenCheck {
  readonly key: Buffer
  readonly revocations: RevocationCount
  readonly holderRevocations: HolderRevocationCount
}

/** Revocations as `umbra tenant ls` counts them, read anew at each call: a revocation takes effect at once. */
export const revocationsIn = (dataDir: string): RevocationCount => (tenant) =>
  listTenants(dataDir).pipe(
    Effect.map((tenants) => tenants.find((summary) => summary.tenant === tenant)?.revoked ?? 0),
    Effect.mapError((error) => new DashboardKeyFailed({ message: `cannot read the tenants' revocations: ${error.message}` }))
  )

/** A holder of a tenant's tokens (a person or a tool) and how often its token was revoked. */
export interface TokenHolder {
  readonly name: string
  readonly revocations: number
}

const tenantPurpose = (tenant: string, revocations: number, holder?: TokenHolder) =>
  `tenant:${tenant}:${revocations}` + (holder === undefined ? "" : `:holder:${holder.name}:${holder.revocations}`)

/**
 * `tenant.<tenant>.<MAC>`, or `tenant.<tenant>.<holder>.<MAC>` for a named holder, the MAC an HMAC-SHA256 with
 * the key over the tenant and its revocations (and the holder and its own): a tenant's bearer token, until its
 * credentials (or the holder's token) are next revoked.
 */
export const tenantToken = (key: Buffer, tenant: string, revocations: number, holder?: TokenHolder) =>
  `tenant.${tenant}.${holder === undefined ? "" : `${holder.name}.`}${mac(key, tenantPurpose(tenant, revocations, holder))}`

/** `operator.<HMAC-SHA256(key, operator)>`: sees every tenant. */
export const operatorToken = (key: Buffer) => `operator.${mac(key, "operator")}`

const sameMac = (given: string, expected: string) => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Whom `token` speaks for, or undefined when the key did not make it or a revocation since voided it. */
export const viewerOf = (check: TokenCheck, token: string): Effect.Effect<Viewer | undefined, DashboardKeyFailed> => {
  const parts = token.split(".")
  if (parts.length === 2 && parts[0] === "operator") {
    return Effect.succeed(sameMac(parts[1]!, mac(check.key, "operator")) ? { kind: "operator" } : undefined)
  }
  if ((parts.length === 3 || parts.length === 4) && parts[0] === "tenant" && parts.slice(1, -1).every((part) => tokenPattern.test(part))) {
    const [tenant, name] = [parts[1]!, parts.length === 4 ? parts[2] : undefined]
    return Effect.gen(function* () {
      const revocations = yield* check.revocations(tenant)
      const holder = name === undefined ? undefined : { name, revocations: yield* check.holderRevocations(tenant, name) }
      if (!sameMac(parts.at(-1)!, mac(check.key, tenantPurpose(tenant, revocations, holder)))) return undefined
      return name === undefined ? { kind: "tenant", tenant } : { kind: "tenant", tenant, holder: name }
    })
  }
  return Effect.succeed(undefined)
}

/** Whether `viewer` may read `tenant`'s API and events. */
export const mayView = (viewer: Viewer, tenant: string) => viewer.kind === "operator" || viewer.tenant === tenant
