import { Effect, Layer } from "effect"
import { StoreUnavailable } from "../../src/eventStore/errors.ts"
import { ScalingStates } from "../../src/scaling/scalingStates.ts"
import { ReadModelDatabase } from "./readModelDatabase.ts"

const failed = (action: string) => (error: unknown) => new StoreUnavailable({ message: `scaling state ${action} failed: ${String(error)}` })

export const layer = Layer.effect(
  ScalingStates,
  Effect.gen(function* () {
    const db = yield* ReadModelDatabase
    db.exec("CREATE TABLE IF NOT EXISTS scaling_states (client TEXT PRIMARY KEY, state TEXT NOT NULL)")
    const select = db.prepare("SELECT state FROM scaling_states WHERE client = ?")
    const upsert = db.prepare(
      "INSERT INTO scaling_states (client, state) VALUES (?, ?) ON CONFLICT (client) DO UPDATE SET state = excluded.state"
    )
    return ScalingStates.of({
      load: (client) =>
        Effect.try({
          try: () => {
            const row = select.get(client)
            return row === undefined ? undefined : (JSON.parse(String(row["state"])) as unknown)
          },
          catch: failed("load")
        }),
      save: (client, state) => Effect.try({ try: () => void upsert.run(client, JSON.stringify(state)), catch: failed("save") })
    })
  })
)
