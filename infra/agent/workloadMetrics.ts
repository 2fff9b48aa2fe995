import { readFile } from "node:fs/promises"
import { Effect, Schema } from "effect"
import { maxMetrics } from "../../domain/signals.ts"

const Metrics = Schema.fromJsonString(Schema.Record(Schema.String, Schema.Unknown))

/**
 * The numeric metrics the workload last wrote to its JSON file, the first `maxMetrics` of them (a sample
 * with more is refused); non-numbers are dropped, and a missing or half-written file gives none (the next
 * sample reads it again).
 */
export const readWorkloadMetrics = (file: string | undefined): Effect.Effect<Record<string, number> | undefined> =>
  file === undefined
    ? Effect.succeed(undefined)
    : Effect.tryPromise(() => readFile(file, "utf8")).pipe(
      Effect.flatMap(Schema.decodeUnknownEffect(Metrics)),
      Effect.map((values) => {
        const numeric: Record<string, number> = {}
        let count = 0
        for (const [key, value] of Object.entries(values)) {
          if (count === maxMetrics) break
          if (typeof value === "number" && Number.isFinite(value)) {
            numeric[key] = value
            count++
          }
        }
        return numeric
      }),
      Effect.orElseSucceed(() => undefined)
    )
