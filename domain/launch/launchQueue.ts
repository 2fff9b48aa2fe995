/** A launch waiting for a provisioning slot. `seq` orders equal priorities: first requested, first served. */
export interface QueuedLaunch {
  readonly tenant: string
  readonly launchId: string
  readonly priority: number
  readonly seq: number
}

const before = (a: QueuedLaunch, b: QueuedLaunch) => a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq)

/** The launch to provision next: highest priority, then the earliest request. */
export const nextLaunch = (queue: Iterable<QueuedLaunch>): QueuedLaunch | undefined => {
  let best: QueuedLaunch | undefined
  for (const launch of queue) if (best === undefined || before(launch, best)) best = launch
  return best
}
