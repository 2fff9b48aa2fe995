import { assert, layer } from "@effect/vitest"
import { DiscardPolicy, jetstreamManager } from "@nats-io/jetstream"
import { headers } from "@nats-io/transport-node"
import { Effect } from "effect"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { publishPipelined } from "../../infra/nats/pipelinedPublisher.ts"
import { natsTestLayer } from "../harness/natsServer.ts"

const encoder = new TextEncoder()
const message = (n: number) => ({ subject: "full.one", data: encoder.encode(JSON.stringify({ n })), headers: headers() })

layer(natsTestLayer, { excludeTestServices: true, timeout: "30 seconds" })("pipelined JetStream publisher", (it) => {
  it.effect("fails when JetStream refuses a message instead of counting it stored", () =>
    Effect.gen(function* () {
      const nc = yield* NatsConnection
      // A stream that takes one message and refuses the next: JetStream answers with an error that also
      // carries `stream` and `seq`, which an acknowledgement must not be mistaken for.
      yield* Effect.promise(async () => (await jetstreamManager(nc)).streams.add({ name: "FULL", subjects: ["full.>"], max_msgs: 1, discard: DiscardPolicy.New }))
      const first = yield* publishPipelined(nc, [message(1)], { window: 10, windowBytes: 1 << 20, ackTimeoutMs: 5_000 })
      assert.strictEqual(first.stored, 1)
      const refused = yield* publishPipelined(nc, [message(2)], { window: 10, windowBytes: 1 << 20, ackTimeoutMs: 5_000 }).pipe(Effect.flip)
      assert.strictEqual(refused._tag, "BusUnavailable")
      assert.match(refused.message, /maximum messages|10077|resource/i)
    }))
})
