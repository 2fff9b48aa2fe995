import { Context, type Effect } from "effect"
import type { Position } from "../domain/envelope.ts"
import type { StoreUnavailable } from "./eventStore/errors.ts"

/** Where readers of the global log (the relay, projections) keep how far they got. */
export class Checkpoints extends Context.Service<
  Checkpoints,
  {
    readonly load: (reader: string) => Effect.Effect<Position | undefined, StoreUnavailable>
    readonly save: (reader: string, position: Position) => Effect.Effect<void, StoreUnavailable>
  }
>()("umbra/Checkpoints") {}
