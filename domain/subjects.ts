import type { StoredEvent } from "./envelope.ts"
import { parseStreamName } from "./streams.ts"

/** Heartbeats, telemetry samples, and dependency reports. */
export type SignalKind = "hb" | "tm" | "dp"

/** Every NATS subject Umbra uses, built from typed parts in this one place. */
export const subjects = {
  eventsRoot: "umbra.evt.>",
  signalsRoot: "umbra.sig.>",
  deadLettersRoot: "umbra.dlq.letter.>",
  /** Where a consumer's dead letters are parked in UMBRA_DLQ; `*` for every consumer's. */
  deadLetter: (consumer: string | "*") => `umbra.dlq.letter.${consumer}`,
  /** Where the process running a consumer answers requests to handle one of its dead letters again. */
  deadLetterRetry: (consumer: string) => `umbra.dlq.retry.${consumer}`,
  command: (tenant: string, commandType: string) => `umbra.cmd.${tenant}.${commandType}`,
  commandsOf: (tenant: string | "*") => `umbra.cmd.${tenant}.*`,
  query: (tenant: string, queryName: string) => `umbra.query.${tenant}.${queryName}`,
  queriesOf: (tenant: string | "*") => `umbra.query.${tenant}.*`,
  eventsOf: (tenant: string | "*", category: string | "*" = "*") => `umbra.evt.${tenant}.${category}.*`,
  signal: (tenant: string, instanceId: string, kind: SignalKind) => `umbra.sig.${tenant}.${instanceId}.${kind}`,
  heartbeatsOf: (tenant: string | "*") => `umbra.sig.${tenant}.*.hb`,
  /** Where an instance's agent answers control requests. */
  control: (tenant: string, instanceId: string) => `umbra.ctl.${tenant}.${instanceId}`,
  /** Where the control plane echoes an instance's heartbeats, so that its agent can time the round trip. */
  heartbeatEcho: (tenant: string, instanceId: string) => `umbra.ctl.${tenant}.${instanceId}.echo`,
  /**
   * The subject of a stored event: `umbra.evt.<tenant>.<category>.<id>`, from its stream name. An event whose
   * stream is not an Umbra stream of its own tenant goes under `other`: an envelope claiming another tenant
   * than its stream's never matches an aggregate's subject, so a consumer parks it instead of acting for that tenant.
   */
  event: (event: Pick<StoredEvent, "stream" | "tenant">): string => {
    const parts = parseStreamName(event.stream)
    return parts === undefined || parts.tenant !== event.tenant
      ? `umbra.evt.${event.tenant}.other.${event.stream.replace(/[^a-z0-9_-]/g, "_")}`
      : `umbra.evt.${parts.tenant}.${parts.category}.${parts.id}`
  }
} as const

/** Splits `umbra.<kind>.<tenant>.<name>` (commands and queries); undefined for any other shape. */
export const parseRequestSubject = (subject: string): { readonly tenant: string; readonly name: string } | undefined => {
  const parts = subject.split(".")
  return parts.length === 4 && parts[2] !== undefined && parts[3] !== undefined
    ? { tenant: parts[2], name: parts[3] }
    : undefined
}

/** Splits `umbra.sig.<tenant>.<instanceId>.<kind>`; undefined for any other shape. */
export const parseSignalSubject = (
  subject: string
): { readonly tenant: string; readonly instanceId: string; readonly kind: string } | undefined => {
  const parts = subject.split(".")
  return parts.length === 5 && parts[0] === "umbra" && parts[1] === "sig"
    ? { tenant: parts[2]!, instanceId: parts[3]!, kind: parts[4]! }
    : undefined
}
