import { Effect, Layer } from "effect"
import type { Position } from "../../domain/envelope.ts"
import { Checkpoints } from "../../src/checkpoints.ts"
import { StoreUnavailable } from "../../src/eventStore/errors.ts"
import { ReadModelDatabase } from "./readModelDatabase.ts"

const failed = (action: string) => (error: unknown) => new StoreUnavailable({ message: `checkpoint ${action} failed: ${String(error)}` })

export const layer = Layer.effect(
  Checkpoints,
  Effect.gen(function* () {
    const db = yield* ReadModelDatabase
    const select = db.prepare("SELECT position FROM checkpoints WHERE reader = ?")
    const upsert = db.prepare(
      "INSERT INTO checkpoints (reader, position) VALUES (?, ?) ON CONFLICT (reader) DO UPDATE SET position = excluded.position"
    )
    return Checkpoints.of({
      load: (reader) =>
        Effect.try({
          try: () => (select.get(reader)?.["position"] as Position | undefined) ?? undefined,
          catch: failed("load")
        }),
      save: (reader, position) => Effect.try({ try: () => void upsert.run(reader, position), catch: failed("save") })
    })
  })
)
