import { Clock, Effect } from "effect"
import { summarizeLatency } from "../../domain/instance/heartbeatLatency.ts"
import { defaultPhiAccrualConfig, liveness as verdictAt } from "../../domain/instance/phiAccrual.ts"
import { liveness, livenessKeys, type LivenessRow } from "../../projections/liveness.ts"
import { afterCatchingUp } from "./caughtUp.ts"
import { fromReadModel } from "./readModelAnswer.ts"
import { readRows } from "./readModelRows.ts"

/** φ to two decimals; null where it is beyond measure (a silence far past anything seen). */
const rounded = (phi: number) => (Number.isFinite(phi) ? Math.round(phi * 100) / 100 : null)

/**
 * `umbra.query.<tenant>.Liveness`: each instance's last heartbeat, heartbeats missed and recreations, φ
 * and the verdict now, by the watchdog's default φ-accrual settings (with no jitter off its deadline), and
 * `latency`: last, p50 and p99 of its heartbeat round trips (null when its agent measures none).
 */
export const livenessQuery = (tenant: string) =>
  Effect.gen(function* () {
    const rows = yield* readRows<LivenessRow>(liveness.name, livenessKeys.instances(tenant))
    const now = yield* Clock.currentTimeMillis
    const instances = rows.map(({ arrivals, rttMs, ...row }) => {
      const verdict = verdictAt(arrivals, now, defaultPhiAccrualConfig, 0)
      return { ...row, phi: rounded(verdict.phi), silent: verdict._tag === "Silent", latency: summarizeLatency(rttMs) ?? null }
    })
    return { instances }
  }).pipe(fromReadModel(liveness.name), afterCatchingUp(liveness), Effect.withSpan("Query.Liveness"))
