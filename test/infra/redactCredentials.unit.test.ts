import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger } from "effect"
import { Writable } from "node:stream"
import { pino } from "pino"
import * as kurrent from "../../infra/eventStore/kurrentEventStore.ts"
import { pinoLogger, pinoOptions } from "../../infra/logging/logger.ts"
import { redactCredentials } from "../../infra/logging/redactCredentials.ts"
import * as natsConnection from "../../infra/nats/connection.ts"
import { freePort } from "../../infra/nats/natsServerProcess.ts"

/** Umbra's pino settings writing JSON lines into memory. */
const capture = () => {
  const lines: Array<string> = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    }
  })
  return { lines, layer: Logger.layer([pinoLogger(pino(pinoOptions("debug"), sink))]) }
}

describe("redactCredentials", () => {
  it("masks the password of a URL, a user-only token, and secret options, and nothing else", () => {
    assert.strictEqual(redactCredentials("nats://u:secret@127.0.0.1:4222"), "nats://u:***@127.0.0.1:4222")
    assert.strictEqual(redactCredentials("at nats://u:p@ss@h:1/x and kurrentdb://admin:changeit@h:2113?tls=false"), "at nats://u:***@h:1/x and kurrentdb://admin:***@h:2113?tls=false")
    assert.strictEqual(redactCredentials("nats://s3cr3t-token@h:4222"), "nats://***@h:4222")
    assert.strictEqual(redactCredentials("https://h/x?user=a&password=hunter2&token=t0k#f"), "https://h/x?user=a&password=***&token=***#f")
    assert.strictEqual(redactCredentials("nats://127.0.0.1:4222,nats://127.0.0.1:4223 user@example"), "nats://127.0.0.1:4222,nats://127.0.0.1:4223 user@example")
  })

  it.effect("a log line loses the credentials of URLs in its message and in any string field", () =>
    Effect.gen(function* () {
      const { lines, layer } = capture()
      yield* Effect.logWarning("cannot reach nats://u:secret@127.0.0.1:4222 now", { nested: { cause: ["kurrentdb://a:secret@h?tls=false"] } }).pipe(
        Effect.annotateLogs({ server: "nats://u:secret@127.0.0.1:4222" }),
        Effect.provide(layer)
      )
      assert.lengthOf(lines, 1)
      assert.notInclude(lines[0]!, "secret")
      const line = JSON.parse(lines[0]!)
      assert.strictEqual(line.msg, "cannot reach nats://u:***@127.0.0.1:4222 now")
      assert.deepStrictEqual(line.nested, { cause: ["kurrentdb://a:***@h?tls=false"] })
      assert.strictEqual(line.server, "nats://u:***@127.0.0.1:4222")
    }))

  it.effect("a failed NATS connection logs and reports no password", () =>
    Effect.gen(function* () {
      const { lines, layer } = capture()
      const port = yield* Effect.promise(freePort)
      const error = yield* Layer.build(natsConnection.layer({ url: `nats://u:secret@127.0.0.1:${port}` })).pipe(
        Effect.scoped,
        Effect.tapError((failure) => Effect.logError("NATS unavailable", { error: failure.message })),
        Effect.flip,
        Effect.provide(layer)
      )
      assert.include(error.message, `nats://u:***@127.0.0.1:${port}`)
      assert.notInclude(error.message, "secret")
      assert.isAbove(lines.length, 0)
      for (const line of lines) assert.notInclude(line, "secret")
    }))

  it.effect("the KurrentDB client's warnings and errors about a connection string show no password", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const printed: Array<string> = []
      const warn = console.warn
      console.warn = (...args: Array<unknown>) => void printed.push(args.map(String).join(" "))
      // A misspelt option: the client warns, quoting the string; the store then finds no server (either end is fine).
      yield* Layer.build(kurrent.layer(`kurrentdb://admin:secret@127.0.0.1:${port}?tls=false&keepAliveIntervall=10000`)).pipe(
        Effect.scoped,
        Effect.timeoutOption("2 seconds"),
        Effect.ignore,
        Effect.ensuring(Effect.sync(() => void (console.warn = warn)))
      )
      assert.isAbove(printed.length, 0)
      for (const line of printed) assert.notInclude(line, "secret")
      const rejected = yield* Layer.build(kurrent.layer(`kurrentdb://admin:secret@127.0.0.1:${port}?tls=maybe`)).pipe(Effect.scoped, Effect.flip)
      assert.include(rejected.message, "rejected")
      assert.notInclude(rejected.message, "secret")
    }))
})
