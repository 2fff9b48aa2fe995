import { recordRtt } from "../domain/instance/heartbeatLatency.ts"
import { type ArrivalHistory, defaultPhiAccrualConfig, recordArrival, startWatching } from "../domain/instance/phiAccrual.ts"
import { endedInstance } from "./endedInstance.ts"
import { patch, type Projection, put, remove } from "./projection.ts"

export interface LivenessRow {
  readonly instanceId: string
  readonly lastHeartbeat: { readonly seq: number; readonly at: string } | null
  /** Heartbeats that never arrived: the gaps in `seq` of each agent's count. */
  readonly missed: number
  readonly recreations: number
  /** The inter-arrival statistics φ is computed from at query time, with the clock of then. */
  readonly arrivals: ArrivalHistory
  /** The heartbeat round trips the current agent measured, newest last (the query gives last, p50 and p99). */
  readonly rttMs: ReadonlyArray<number>
}

export const livenessKeys = {
  instances: (tenant: string) => `${tenant}/`,
  instance: (tenant: string, instanceId: string) => `${tenant}/${instanceId}`
}

const watched = (instanceId: string, at: string): LivenessRow => ({
  instanceId,
  lastHeartbeat: null,
  missed: 0,
  recreations: 0,
  arrivals: startWatching(Date.parse(at)),
  rttMs: []
})

const heartbeat = (row: LivenessRow, seq: number, at: string, rttMs: number | undefined): LivenessRow => {
  // Only the current agent's heartbeats count: after a recreation the last one was its predecessor's.
  const last = row.arrivals.lastArrivalMs === undefined ? null : row.lastHeartbeat
  if (last !== null && seq === last.seq) return row
  // A seq below the last is a new agent counting from 0 again, which leaves no gap.
  const gap = last === null || seq < last.seq ? 0 : seq - last.seq - 1
  return {
    ...row,
    lastHeartbeat: { seq, at },
    missed: row.missed + gap,
    arrivals: recordArrival(row.arrivals, Date.parse(at), defaultPhiAccrualConfig),
    rttMs: rttMs === undefined ? row.rttMs : recordRtt(row.rttMs, rttMs)
  }
}

/**
 * How each instance of a tenant is heard from: its last heartbeat (by the agent's own time), the heartbeats
 * missed, its recreations, the arrivals φ-accrual needs, and the heartbeat round trips its agent measured.
 * Rows go with their instance, as in the fleet.
 */
export const liveness: Projection = {
  name: "liveness",
  version: 2,
  handles: new Set(["ShadowRequested", "ProvisioningStarted", "HeartbeatRecorded", "InstanceRecreated", "InstanceTerminated", "ProductionRetired", "LaunchRolledBack"]),
  apply: (event, envelope) => {
    const key = (instanceId: string) => livenessKeys.instance(envelope.tenant, instanceId)
    switch (event._tag) {
      case "ShadowRequested":
        return [put(key(event.instanceId), watched(event.instanceId, envelope.at))]
      case "ProvisioningStarted":
        return [put(key(event.productionInstanceId), watched(event.productionInstanceId, envelope.at))]
      case "HeartbeatRecorded":
        return [patch<LivenessRow>(key(event.instanceId), (row) => heartbeat(row, event.seq, event.at, event.rttMs))]
      case "InstanceRecreated":
        // A new agent: the startup grace applies again, its seq counts from 0, and its round trips are its own.
        return [
          patch<LivenessRow>(key(event.instanceId), (row) => ({
            ...row,
            recreations: row.recreations + 1,
            arrivals: { ...startWatching(Date.parse(envelope.at)), intervalsMs: row.arrivals.intervalsMs },
            rttMs: []
          }))
        ]
      default: {
        const ended = endedInstance(event, envelope.tenant)
        return ended === undefined ? [] : [remove(key(ended))]
      }
    }
  }
}
