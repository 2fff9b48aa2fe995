import { Effect, Layer } from "effect"
import type { Position } from "../../domain/envelope.ts"
import { Checkpoints } from "../../src/checkpoints.ts"

export const layer = Layer.sync(Checkpoints, () => {
  const saved = new Map<string, Position>()
  return Checkpoints.of({
    load: (reader) => Effect.sync(() => saved.get(reader)),
    save: (reader, position) => Effect.sync(() => void saved.set(reader, position))
  })
})
