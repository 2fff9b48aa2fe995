import { assert, describe, it } from "@effect/vitest"
import {
  type ArrivalHistory,
  defaultPhiAccrualConfig as config,
  liveness,
  livenessWhileWarming,
  phiOf,
  recordArrival,
  startWatching
} from "../../domain/instance/phiAccrual.ts"

/** Heartbeats every `intervalMs` (plus a deterministic wobble) from t = 0 to `untilMs`. */
const arrivals = (intervalMs: number, untilMs: number, wobbleMs = 0): ArrivalHistory => {
  let history = startWatching(0)
  for (let t = 0, i = 0; t <= untilMs; t += intervalMs, i++) history = recordArrival(history, t + (i % 2 === 0 ? wobbleMs : -wobbleMs), config)
  return history
}

/** The first silence (in 10 ms steps after the last beat) judged Silent. */
const detectionAfter = (history: ArrivalHistory, jitter: number) => {
  for (let silence = 0; ; silence += 10) {
    if (liveness(history, history.lastArrivalMs! + silence, config, jitter)._tag === "Silent") return silence
  }
}

describe("φ-accrual detector", () => {
  it("φ grows with the silence", () => {
    assert.isBelow(phiOf(1_000, 1_000, 100), 1)
    assert.isAbove(phiOf(1_500, 1_000, 100), phiOf(1_200, 1_000, 100))
    assert.isAbove(phiOf(2_000, 1_000, 100), config.threshold)
  })

  it("keeps an instance that beats regularly alive, including a late beat within the spread", () => {
    const history = arrivals(1_000, 60_000, 50)
    assert.strictEqual(liveness(history, history.lastArrivalMs! + 1_100, config, 0)._tag, "Alive")
  })

  it("declares a silent instance lost within three heartbeat intervals", () => {
    for (const wobble of [0, 50, 200, 400]) {
      const history = arrivals(1_000, 30_000, wobble)
      const detected = detectionAfter(history, 0.5)
      assert.isAtMost(detected, 3 * config.expectedIntervalMs, `wobble ${wobble}`)
      assert.isAbove(detected, config.expectedIntervalMs, `wobble ${wobble}`)
    }
  })

  it("falls back to the deadline, shortened by at most the jitter, when φ rises slowly", () => {
    const erratic = arrivals(1_000, 30_000, 450)
    const verdict = liveness(erratic, erratic.lastArrivalMs! + 3_000, config, 0)
    assert.strictEqual(verdict._tag, "Silent")
    const early = detectionAfter(erratic, 0.99)
    const late = detectionAfter(erratic, 0)
    assert.isAtMost(early, late)
    assert.isAtLeast(early, 3_000 * (1 - config.maxJitter) - 10)
  })

  it("gives a starting instance the startup grace before its first beat", () => {
    const history = startWatching(1_000)
    assert.strictEqual(liveness(history, 1_000 + config.startupGraceMs - 1, config, 0)._tag, "Alive")
    const verdict = liveness(history, 1_000 + config.startupGraceMs, config, 0)
    assert.strictEqual(verdict._tag === "Silent" ? verdict.reason : verdict._tag, "never-heard")
  })

  it("keeps only the window of recent intervals", () => {
    assert.strictEqual(arrivals(1_000, 500_000).intervalsMs.length, config.windowSize)
  })

  it("keeps a warming instance whose beats come seconds late alive, and declares it lost after a silence as long as the startup grace", () => {
    const history = arrivals(1_000, 10_000)
    const late = history.lastArrivalMs! + 2_600
    assert.strictEqual(liveness(history, late, config, 0)._tag, "Silent", "a warm instance this late is lost")
    assert.strictEqual(livenessWhileWarming(history, late, config)._tag, "Alive")
    assert.deepInclude(livenessWhileWarming(history, history.lastArrivalMs! + config.startupGraceMs, config), { _tag: "Silent", reason: "silent-while-warming" })
    assert.strictEqual(livenessWhileWarming(startWatching(0), config.startupGraceMs, config)._tag, "Silent", "never heard at all")
  })
})
