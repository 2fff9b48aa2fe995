/**
 * A second OS process for sqliteMultiProcess.int.test.ts: appends `count` events to the SQLite file, to its
 * own streams with exact expected revisions and every fourth one to a shared stream with "any". Prints
 * "ready" once the file is open, starts when a line arrives on stdin, then prints the JSON list of the ids
 * it appended.
 *
 * Usage: node test/eventStore/sqliteWriter.ts <file> <writer> <count> <sharedStream>
 */
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { layerFile } from "../../infra/eventStore/sqliteEventStore.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"

export const writeEvents = (writer: string, count: number, sharedStream: string, onReady: Effect.Effect<void> = Effect.void) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    yield* onReady
    const revisions = new Map<string, number>()
    const ids: Array<string> = []
    for (let i = 0; i < count; i++) {
      const id = randomUUID()
      const event = {
        id,
        type: "TestHappened",
        at: new Date().toISOString(),
        tenant: "acme",
        correlationId: id,
        causationId: id,
        schemaVersion: 1,
        data: { writer, n: i }
      }
      if (i % 4 === 0) {
        yield* store.append(sharedStream, "any", [event])
      } else {
        const stream = `test-acme.${writer}-${i % 3}`
        const result = yield* store.append(stream, revisions.get(stream) ?? "no_stream", [event])
        revisions.set(stream, result.revision)
      }
      ids.push(id)
    }
    return ids
  })

if (import.meta.main) {
  const [file, writer, count, sharedStream] = process.argv.slice(2)
  const ready = Effect.callback<void>((resume) => {
    process.stdin.once("data", () => {
      // Nothing more is read: the open pipe must not keep the process alive.
      process.stdin.destroy()
      resume(Effect.void)
    })
    process.stdout.write("ready\n")
  })
  const program = writeEvents(writer!, Number(count), sharedStream!, ready)
  Effect.runPromise(program.pipe(Effect.provide(layerFile(file!)))).then(
    (ids) => process.stdout.write(`${JSON.stringify(ids)}\n`),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`)
      process.exitCode = 1
    }
  )
}
