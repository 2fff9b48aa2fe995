import { tokenPattern } from "./ids.ts"

/** Aggregate categories; a stream is `<category>-<tenant>.<id>` (KurrentDB's `$ce-` convention). */
export const categories = ["client", "profile", "instance", "launch", "forecast", "heartbeat", "telemetry", "saga"] as const
export type Category = (typeof categories)[number]

export const streamName = (category: Category, tenant: string, id: string): string => `${category}-${tenant}.${id}`

export interface StreamParts {
  readonly category: string
  readonly tenant: string
  readonly id: string
}

/** Splits an Umbra stream name; undefined for names of another shape (system or foreign streams). */
export const parseStreamName = (stream: string): StreamParts | undefined => {
  const dash = stream.indexOf("-")
  const dot = stream.indexOf(".", dash + 1)
  if (dash <= 0 || dot < 0) return undefined
  const parts = { category: stream.slice(0, dash), tenant: stream.slice(dash + 1, dot), id: stream.slice(dot + 1) }
  return tokenPattern.test(parts.tenant) && tokenPattern.test(parts.id) ? parts : undefined
}
