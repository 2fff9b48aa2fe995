import { connect, createServer, type Socket } from "node:net"
import { performance } from "node:perf_hooks"
import { Context, Effect, Layer, Schema } from "effect"
import { NatsTestServer } from "../harness/natsServer.ts"

export class DelayProxyFailed extends Schema.TaggedError<DelayProxyFailed>()("DelayProxyFailed", {
  message: Schema.String
}) {}

/** Added to each chunk, in each direction: a finite, non-negative number of ms. */
const DelayMs = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

/**
 * Copies `from` to `to`, each chunk no sooner than the delay of when it arrived. One queue per direction,
 * so a chunk never overtakes an earlier one, even when the delay was shortened between them.
 */
const delayedPipe = (from: Socket, to: Socket, delayMs: () => number) => {
  const queue: Array<{ readonly data: Buffer; readonly dueAt: number }> = []
  let timer: NodeJS.Timeout | undefined
  const drain = () => {
    timer = undefined
    const now = performance.now()
    while (queue.length > 0 && queue[0]!.dueAt <= now) to.write(queue.shift()!.data)
    if (queue.length > 0) timer = setTimeout(drain, queue[0]!.dueAt - now)
  }
  from.on("data", (data: Buffer) => {
    queue.push({ data, dueAt: Math.max(performance.now() + delayMs(), queue.at(-1)?.dueAt ?? 0) })
    if (timer === undefined) drain()
  })
  return () => clearTimeout(timer)
}

/** A TCP proxy on loopback: where to connect, and the delay it adds from now on. */
export interface DelayProxyShape {
  readonly url: string
  readonly setDelay: (ms: number) => Effect.Effect<void>
}

/**
 * A TCP proxy on 127.0.0.1 (a free port) in front of `target`, adding a settable delay (0 at first) to
 * each chunk in both directions. Chunks still queued when a side closes are dropped with the connection.
 * Every socket closes with the scope.
 */
export const delayProxy = Effect.fn("DelayProxy.start")(function* (target: { readonly host: string; readonly port: number }) {
  let delayMs = 0
  const connections = new Set<() => void>()
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host)
    const stops = [delayedPipe(client, upstream, () => delayMs), delayedPipe(upstream, client, () => delayMs)]
    const close = () => {
      stops.forEach((stop) => stop())
      client.destroy()
      upstream.destroy()
      connections.delete(close)
    }
    connections.add(close)
    for (const socket of [client, upstream]) socket.on("close", close).on("error", close)
  })
  const port = yield* Effect.acquireRelease(
    Effect.callback<number, DelayProxyFailed>((resume) => {
      server.once("error", (cause) => resume(Effect.fail(new DelayProxyFailed({ message: String(cause) }))))
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        resume(typeof address === "object" && address !== null ? Effect.succeed(address.port) : Effect.fail(new DelayProxyFailed({ message: "no port" })))
      })
    }),
    () =>
      Effect.callback<void>((resume) => {
        connections.forEach((close) => close())
        server.close(() => resume(Effect.void))
      })
  )
  return {
    url: `nats://127.0.0.1:${port}`,
    setDelay: (ms) => Schema.decodeEffect(DelayMs)(ms).pipe(Effect.orDie, Effect.map((decoded) => void (delayMs = decoded)))
  } satisfies DelayProxyShape
})

export class DelayProxy extends Context.Service<DelayProxy, DelayProxyShape>()("umbra/test/DelayProxy") {
  /** A proxy in front of the test's own nats-server, for the lifetime of the layer. */
  static readonly inFrontOfNats: Layer.Layer<DelayProxy, DelayProxyFailed, NatsTestServer> = Layer.effect(
    DelayProxy,
    Effect.gen(function* () {
      const { hostname, port } = new URL((yield* NatsTestServer).url)
      return yield* delayProxy({ host: hostname, port: Number(port) })
    })
  )
}
