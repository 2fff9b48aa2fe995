import { Clock, Effect } from "effect"
import { defaultPhiAccrualConfig, liveness as verdictAt } from "../../domain/instance/phiAccrual.ts"
import { liveness, livenessKeys, type LivenessRow } from "../../projections/liveness.ts"
import { afterCatchingUp } from "./caughtUp.ts"
import { fromReadModel } from "./readModelAnswer.ts"
import { readRows } from "./readModelRows.ts"

/** φ to two decimals; null where it is beyond measure (a silence far past anything seen). */
const rounded = (phi: number) => (Number.isFinite(phi) ? Math.round(phi * 100) / 100 : null)

/**
 * `umbra.query.<tenant>.Liveness`: each instance's last heartbeat, heartbeats missed and recreations, and φ
 * and the verdict now, by the watchdog's default φ-accrual settings (with no jitter off its deadline).
 */
export const livenessQuery = (tenant: string) =>
  Effect.gen(function* () {
    const rows = yield* readRows<LivenessRow>(liveness.name, livenessKeys.instances(tenant))
    const now = yield* Clock.currentTimeMillis
    const instances = rows.map(({ arrivals, ...row }) => {
      const verdict = verdictAt(arrivals, now, defaultPhiAccrualConfig, 0)
      return { ...row, phi: rounded(verdict.phi), silent: verdict._tag === "Silent" }
    })
    return { instances }
  }).pipe(fromReadModel(liveness.name), afterCatchingUp(liveness), Effect.withSpan("Query.Liveness"))
