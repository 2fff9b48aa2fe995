import { Data, Effect, Stream } from "effect"
import { once } from "node:events"
import { createReadStream, createWriteStream, existsSync } from "node:fs"
import { createInterface } from "node:readline"
import type { Writable } from "node:stream"
import { tokenPattern } from "../../domain/ids.ts"
import { exportEvents } from "../../src/replay/eventExport.ts"
import { importEvents } from "../../src/replay/eventImport.ts"
import { UmbraConfig } from "../config.ts"
import { eventStoreLayer } from "../serve/eventStoreLayer.ts"
import { parseOptions } from "./options.ts"
import { parsePosition } from "./positionOption.ts"
import { makeProgressReport } from "./progressReport.ts"
import { exitCodesHelp, failed, print, usage } from "./terminal.ts"

export const eventsHelp = `Usage: umbra events export|import [options]

Moves the event log in and out of the configured event store (UMBRA_EVENT_STORE) as NDJSON: one envelope
per line, {"id", "type", "stream", "revision", "position", "at", "tenant", "correlationId",
"causationId", "schemaVersion", "data"}. Run 'umbra events <export|import> --help' for each. Example:
  umbra events export --out umbra-events.ndjson
  UMBRA_DATA_DIR=/srv/umbra-new umbra events import umbra-events.ndjson

${exitCodesHelp("done", "it could not (each subcommand's help says when)")}`

export const exportHelp = `Usage: umbra events export [--tenant <t>] [--from <position>] [--to <position>] [--out <file>] [--json]

Writes the global log in position order, one envelope per line, to stdout or --out. Progress goes to
stderr. Example:
  umbra events export --tenant acme --out acme.ndjson

Options:
  --tenant <t>       only this tenant's events
  --from <position>  only the events after this position (exclusive), as this command prints positions
                     (a plain number is the SQLite store's position that many events in)
  --to <position>    only up to this position (inclusive)
  --out <file>       write there instead of stdout
  --json             with --out: print {"exported", "out"} on stdout when done

${exitCodesHelp("exported", "the event store could not be read")}`

export const importHelp = `Usage: umbra events import <file> [--json]

Appends an export to the configured event store, keeping each event's id, stream and revision (each run of
a stream's events is appended with the expected revision before it; positions are the store's own).
Every line is checked against the envelope's schema first: a bad line is reported with its number and
nothing of the file is applied. Importing the same file again adds nothing: events the store already
holds are skipped. A stream that the store holds other events in (or an export that starts a stream
part-way, as --from can make one) stops the import at that line with exit code 1; what came before it
stays imported, and importing again goes on from there once the cause is fixed. Progress goes to stderr.
Example:
  umbra events import umbra-events.ndjson --json

Options:
  --json   print {"imported", "skipped"}; a refused file {"error": {"tag", "message", "lines"}}

${exitCodesHelp("imported (or nothing new to import)", "a bad line, a conflicting stream, an unreadable file or an unavailable store")}`

/** Writes `text`, waiting while the destination's buffer is full (a pipe whose reader is slower). */
const writeTo = (out: Writable, text: string) =>
  Effect.promise(async () => {
    if (!out.write(text)) await once(out, "drain")
  })

const exportLog = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { values, positionals } = yield* parseOptions(argv, {
      allowPositionals: true,
      options: {
        tenant: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        out: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false }
      }
    })
    if (values.help) return yield* print(exportHelp).pipe(Effect.as(0))
    if (positionals.length > 0) return yield* usage(`unexpected ${positionals.join(" ")}`, exportHelp)
    if (values.tenant !== undefined && !tokenPattern.test(values.tenant)) return yield* usage("--tenant must match [a-z0-9][a-z0-9_-]{0,63}", exportHelp)
    const [after, through] = [parsePosition(values.from), parsePosition(values.to)]
    if (after === "invalid" || through === "invalid") return yield* usage("--from and --to are log positions: digits, as this command prints them", exportHelp)
    const out = values.out
    const config = yield* UmbraConfig
    const exported = yield* Effect.gen(function* () {
      const destination: Writable = out === undefined
        ? process.stdout
        : yield* Effect.acquireRelease(
            Effect.sync(() => createWriteStream(out)),
            (file) => Effect.promise(() => new Promise<void>((done) => file.end(done)))
          )
      const progress = makeProgressReport("export", undefined)
      let count = 0
      yield* exportEvents({ tenant: values.tenant, after, through }).pipe(
        Stream.runForEach(({ events, text }) =>
          writeTo(destination, text).pipe(Effect.andThen(Effect.suspend(() => progress.update((count += events)))))
        )
      )
      yield* progress.finish(count)
      return count
    }).pipe(Effect.scoped, Effect.provide(eventStoreLayer(config)))
    if (out !== undefined && values.json) yield* print(JSON.stringify({ exported, out }))
    return 0
  })

/** The import file could not be read through. */
class FileUnreadable extends Data.TaggedError("FileUnreadable")<{ readonly message: string }> {}

/** A file's lines, read again from the start each time the stream runs. */
const fileLines = (file: string) =>
  Stream.fromAsyncIterable(
    { [Symbol.asyncIterator]: () => createInterface({ input: createReadStream(file), crlfDelay: Infinity })[Symbol.asyncIterator]() },
    (error) => new FileUnreadable({ message: `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}` })
  )

/**
 * Each run of `lines` reports its progress under the next label (the import reads its file twice: to check
 * every line, then to append); a run after the first knows how many lines there are, so it shows a bar.
 */
const withProgress = <E>(lines: Stream.Stream<string, E>, labels: readonly [string, ...Array<string>]) => {
  let runs = 0
  let total: number | undefined
  return Stream.suspend(() => {
    const progress = makeProgressReport(labels[Math.min(runs++, labels.length - 1)]!, total)
    let done = 0
    return lines.pipe(
      Stream.tap(() => progress.update(++done)),
      Stream.onEnd(Effect.suspend(() => {
        total = done
        return progress.finish(done)
      }))
    )
  })
}

const importLog = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { values, positionals } = yield* parseOptions(argv, {
      allowPositionals: true,
      options: { json: { type: "boolean", default: false }, help: { type: "boolean", default: false } }
    })
    if (values.help) return yield* print(importHelp).pipe(Effect.as(0))
    const [file, ...rest] = positionals
    if (file === undefined || rest.length > 0) return yield* usage("name one file to import", importHelp)
    if (!existsSync(file)) return yield* failed(`there is no file ${file}`)
    const config = yield* UmbraConfig
    const refuse = (message: string, error: object) =>
      values.json ? print(JSON.stringify({ error })).pipe(Effect.as(1)) : failed(message)
    return yield* importEvents(withProgress(fileLines(file), ["checking", "importing"])).pipe(
      Effect.provide(eventStoreLayer(config)),
      Effect.flatMap(({ imported, skipped }) =>
        print(values.json ? JSON.stringify({ imported, skipped }) : `imported ${imported} events, skipped ${skipped} already stored`).pipe(Effect.as(0))
      ),
      Effect.catchTags({
        ImportRefused: ({ count, lines }) =>
          refuse(
            `${file}: ${count} bad line(s), nothing imported\n${lines.map(({ line, message }) => `  line ${line}: ${message}`).join("\n")}`,
            { tag: "ImportRefused", message: `${count} bad line(s), nothing imported`, lines }
          ),
        FileUnreadable: ({ message }) => failed(message),
        ImportConflict: ({ line, message }) => refuse(`${file}: line ${line}: ${message}`, { tag: "ImportConflict", message, lines: [{ line, message }] })
      })
    )
  })

const subcommands: Record<string, { readonly run: (argv: ReadonlyArray<string>) => ReturnType<typeof importLog>; readonly help: string }> = {
  export: { run: exportLog, help: exportHelp },
  import: { run: importLog, help: importHelp }
}

export const eventsCommand = (argv: ReadonlyArray<string>) => {
  const [name, ...rest] = argv
  if (name === "--help" || name === "-h") return print(eventsHelp).pipe(Effect.as(0))
  const sub = name === undefined || !Object.hasOwn(subcommands, name) ? undefined : subcommands[name]!
  if (sub === undefined) return usage(name === undefined ? "name export or import" : `there is no events command '${name}'`, eventsHelp)
  return sub.run(rest).pipe(
    Effect.catchTag("UsageError", (error) => usage(error.message, sub.help)),
    Effect.catchTags({
      StoreUnavailable: (error) => failed(error.message),
      ValidationFailed: (error) => failed(`the store refused an event: ${error.message}`)
    })
  )
}
