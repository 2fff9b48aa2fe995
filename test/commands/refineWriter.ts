/**
 * A second OS process for commandConflicts.int.test.ts: a command handler of its own on the SQLite file,
 * sending `count` RefineProfile commands to one client's profile. Prints "ready" once the file is open,
 * starts when a line arrives on stdin, then prints `{"commandIds": [...], "conflicts": n}`.
 *
 * Usage: node test/commands/refineWriter.ts <file> <writer> <count> <base>
 */
import { Effect, Layer, Ref } from "effect"
import { layerFile } from "../../infra/eventStore/sqliteEventStore.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { command } from "../support/commands.ts"
import { racingStore } from "../support/racingStore.ts"

/**
 * `count` refinements of client c1, one after another, each answered before the next. Each writer's values
 * are its own (from `base`): a refinement equal to the current expectation would decide nothing.
 */
export const refineMany = (writer: string, count: number, base: number, onReady: Effect.Effect<void> = Effect.void) =>
  Effect.gen(function* () {
    const handler = yield* CommandHandler
    yield* onReady
    const commandIds: Array<string> = []
    for (let i = 0; i < count; i++) {
      const refine = command("RefineProfile", { clientId: "c1", expected: { cpuMillis: base + i }, reason: `${writer} ${i}` })
      yield* handler.handle(refine)
      commandIds.push(refine.commandId)
    }
    return commandIds
  })

if (import.meta.main) {
  const [file, writer, count, base] = process.argv.slice(2)
  const ready = Effect.callback<void>((resume) => {
    process.stdin.once("data", () => {
      process.stdin.destroy()
      resume(Effect.void)
    })
    process.stdout.write("ready\n")
  })
  const program = Effect.gen(function* () {
    const conflicts = yield* Ref.make(0)
    const commandIds = yield* refineMany(writer!, Number(count), Number(base), ready).pipe(
      Effect.provide(CommandHandler.layer.pipe(Layer.provide(racingStore(2, conflicts)), Layer.provide(layerFile(file!))))
    )
    return { commandIds, conflicts: yield* Ref.get(conflicts) }
  })
  Effect.runPromise(program).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`)
      process.exitCode = 1
    }
  )
}
