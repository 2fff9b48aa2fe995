import { Effect, Layer, Stream } from "effect"
import { EventBus, type EventBusShape } from "../../src/eventBus.ts"

/**
 * A bus on which only requests to instances' agents are answered, as `request` fakes them; anything else
 * dies: in these tests no bus runs, and every step is driven by the test, in order.
 */
export const agentsOnlyBus = (request: EventBusShape["request"]) =>
  Layer.succeed(
    EventBus,
    EventBus.of({
      request,
      publishEvents: () => Effect.die("no bus in these tests"),
      serveRequests: () => Effect.die("no bus in these tests"),
      consumeEvents: () => Effect.die("no bus in these tests"),
      consumers: Effect.die("no bus in these tests"),
      followEvents: () => Stream.die("no bus in these tests"),
      followSignals: () => Stream.die("no bus in these tests")
    })
  )
