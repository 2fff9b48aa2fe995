import { Effect } from "effect"
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { DashboardKeyFailed } from "./dashboardTokens.ts"

/**
 * How often a holder's dashboard token of a tenant was revoked, a file per tenant and holder (both match the
 * token pattern, so neither names another directory): two revocations at once of different holders cannot
 * undo each other, and two of the same holder void its token either way.
 */
const countPath = (dataDir: string, tenant: string, holder: string) => join(dataDir, "http", "token-holders", `${tenant}.${holder}`)

const failed = (what: string) => (error: unknown) =>
  new DashboardKeyFailed({ message: `${what}: ${error instanceof Error ? error.message : String(error)}` })

/** The holder's revocations as the data directory has them now (0 for a holder never revoked). */
export const holderRevocationsIn = (dataDir: string) => (tenant: string, holder: string): Effect.Effect<number, DashboardKeyFailed> =>
  Effect.try({
    try: () => {
      let text: string
      try {
        text = readFileSync(countPath(dataDir, tenant, holder), "utf8")
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0
        throw error
      }
      const count = Number(text.trim())
      if (!Number.isSafeInteger(count) || count < 0) throw new Error(`${countPath(dataDir, tenant, holder)} does not hold a count`)
      return count
    },
    catch: failed("cannot read the token holder's revocations")
  })

/** Voids the holder's current token of the tenant (its next one differs); returns how often it was revoked now. */
export const revokeHolder = (dataDir: string, tenant: string, holder: string) =>
  Effect.gen(function* () {
    const next = (yield* holderRevocationsIn(dataDir)(tenant, holder)) + 1
    yield* Effect.try({
      try: () => {
        const path = countPath(dataDir, tenant, holder)
        mkdirSync(join(dataDir, "http", "token-holders"), { recursive: true, mode: 0o700 })
        const draft = `${path}.${process.pid}.draft`
        writeFileSync(draft, `${next}\n`, { mode: 0o600 })
        renameSync(draft, path)
      },
      catch: failed("cannot record the token holder's revocation")
    })
    return next
  })
