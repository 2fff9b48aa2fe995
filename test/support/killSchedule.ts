/** What a kill waits for: a command of the scenario sent, or an event type first seen in the store. */
export interface KillTrigger {
  readonly after: "command" | "event"
  readonly name: string
}

/** A point where `umbra serve` is killed: its trigger, then a delay. */
export interface KillPoint {
  readonly trigger: KillTrigger
  readonly delayMs: number
}

/** A seeded generator (an LCG), so a seed replays the same schedule. */
const uniform = (seed: number) => () => {
  seed = (seed * 1_664_525 + 1_013_904_223) % 4_294_967_296
  return seed / 4_294_967_296
}

/**
 * `runs` lists of `perRun` kill points, each list in the scenario's order (the triggers' order); delays up to
 * `maxDelayMs`, most of them short, so kills land both in the middle of a step and between steps.
 */
export const killSchedule = (
  seed: number,
  triggers: ReadonlyArray<KillTrigger>,
  runs: number,
  perRun: number,
  maxDelayMs: number
): ReadonlyArray<ReadonlyArray<KillPoint>> => {
  const random = uniform(seed)
  return Array.from({ length: runs }, () =>
    Array.from({ length: perRun }, () => ({ index: Math.floor(random() * triggers.length), delayMs: Math.floor(random() ** 2 * maxDelayMs) }))
      .sort((a, b) => a.index - b.index)
      .map(({ index, delayMs }) => ({ trigger: triggers[index]!, delayMs }))
  )
}

export const describeKillPoint = (point: KillPoint) => `${point.delayMs} ms after ${point.trigger.after} ${point.trigger.name}`
