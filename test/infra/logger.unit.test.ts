import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger, References } from "effect"
import { Writable } from "node:stream"
import { pino } from "pino"
import { pinoLogger } from "../../infra/logging/logger.ts"

const capture = () => {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)))
      done()
    }
  })
  const log = pino({ level: "debug", redact: ["*.token", "token"] }, sink)
  return { lines, layer: Logger.layer([pinoLogger(log)]) }
}

describe("pino bridge", () => {
  it.effect("writes Effect log calls as JSON with their annotations and redacts secrets", () =>
    Effect.gen(function* () {
      const { lines, layer } = capture()
      yield* Effect.logInfo("command handled", { token: "s3cret" }).pipe(
        Effect.annotateLogs({ tenant: "acme", commandId: "c-1", correlationId: "k-1", auth: { token: "s3cret" } }),
        Effect.provide(layer)
      )
      yield* Effect.logDebug("detail").pipe(Effect.provide(layer), Effect.provideService(References.MinimumLogLevel, "Debug"))
      assert.lengthOf(lines, 2)
      const first = lines[0]!
      assert.strictEqual(first["level"], 30)
      assert.strictEqual(first["tenant"], "acme")
      assert.strictEqual(first["commandId"], "c-1")
      assert.strictEqual(first["correlationId"], "k-1")
      assert.deepStrictEqual(first["auth"], { token: "[Redacted]" })
      assert.strictEqual(first["msg"], "command handled")
      assert.strictEqual(first["token"], "[Redacted]")
      assert.strictEqual(lines[1]!["level"], 20)
    }))
})
