import { Effect, Stream } from "effect"
import type { StoredEvent } from "../../domain/envelope.ts"
import { tokenPattern } from "../../domain/ids.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { streamsOf } from "../../src/replay/streamListing.ts"
import { UmbraConfig } from "../config.ts"
import { eventStoreLayer } from "../serve/eventStoreLayer.ts"
import { parseOptions } from "./options.ts"
import { exitCodesHelp, failed, print, usage } from "./terminal.ts"

export const streamsHelp = `Usage: umbra streams ls|show [options]

Looks into the configured event store (UMBRA_EVENT_STORE): which streams it holds, and one stream's events.
Run 'umbra streams <ls|show> --help' for each. Example:
  umbra streams ls --tenant acme --category instance
  umbra streams show instance-acme.shd-7f3a

${exitCodesHelp("done", "it could not (each subcommand's help says when)")}`

export const lsHelp = `Usage: umbra streams ls [--tenant <t>] [--category <c>] [--json]

Lists the streams that hold events, in name order, each with its current revision (the newest event's).
A stream is named <category>-<tenant>.<id>. On KurrentDB this reads the whole log. Example:
  umbra streams ls --category launch --json

Options:
  --tenant <t>     only this tenant's streams
  --category <c>   only this category's (client, profile, instance, launch, forecast, heartbeat, telemetry, saga)
  --json           one JSON document per line: {"stream", "revision"}

${exitCodesHelp("listed (none is no error)", "the event store could not be read")}`

export const showHelp = `Usage: umbra streams show <stream> [--from <revision>] [--limit <n>] [--json]

Prints a stream's events in revision order: revision, position, time, type and data. Exits 1 when the
stream holds no events. Example:
  umbra streams show profile-acme.c1 --from 10

Options:
  --from <revision>   start at this revision (default 0)
  --limit <n>         at most this many events
  --json              one envelope per line, as 'events export' writes them

${exitCodesHelp("printed", "the stream holds no events (from --from), or the event store could not be read")}`

const count = (text: string | undefined, least: number) => {
  const n = Number(text)
  return text !== undefined && Number.isSafeInteger(n) && n >= least ? n : undefined
}

const eventLine = (event: StoredEvent) => `${event.revision}\t${event.position}\t${event.at}\t${event.type}\t${JSON.stringify(event.data)}`

const ls = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { values, positionals } = yield* parseOptions(argv, {
      allowPositionals: true,
      options: {
        tenant: { type: "string" },
        category: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false }
      }
    })
    if (values.help) return yield* print(lsHelp).pipe(Effect.as(0))
    if (positionals.length > 0) return yield* usage(`unexpected ${positionals.join(" ")}`, lsHelp)
    if (values.tenant !== undefined && !tokenPattern.test(values.tenant)) return yield* usage("--tenant must match [a-z0-9][a-z0-9_-]{0,63}", lsHelp)
    if (values.category !== undefined && !/^[a-z][a-z0-9]*$/.test(values.category)) return yield* usage("--category is a word such as instance or launch", lsHelp)
    yield* streamsOf({ tenant: values.tenant, category: values.category }).pipe(
      Stream.runForEach((summary) => print(values.json ? JSON.stringify(summary) : `${summary.stream}\t${summary.revision}`))
    )
    return 0
  })

const show = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { values, positionals } = yield* parseOptions(argv, {
      allowPositionals: true,
      options: {
        from: { type: "string", default: "0" },
        limit: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false }
      }
    })
    if (values.help) return yield* print(showHelp).pipe(Effect.as(0))
    const [stream, ...rest] = positionals
    if (stream === undefined || rest.length > 0) return yield* usage("name one stream, e.g. instance-acme.shd-7f3a", showHelp)
    const from = count(values.from, 0)
    if (from === undefined) return yield* usage("--from is a revision: 0 or more", showHelp)
    const limit = values.limit === undefined ? undefined : count(values.limit, 1)
    if (values.limit !== undefined && limit === undefined) return yield* usage("--limit is a positive number", showHelp)
    const events = yield* EventStore.use((store) => store.readStream(stream, limit === undefined ? { from } : { from, limit }))
    if (events.length === 0) return yield* failed(`${stream} holds no events${from > 0 ? ` from revision ${from}` : ""}`)
    for (const event of events) yield* print(values.json ? JSON.stringify(event) : eventLine(event))
    return 0
  })

const subcommands: Record<string, { readonly run: (argv: ReadonlyArray<string>) => ReturnType<typeof show>; readonly help: string }> = {
  ls: { run: ls, help: lsHelp },
  show: { run: show, help: showHelp }
}

export const streamsCommand = (argv: ReadonlyArray<string>) => {
  const [name, ...rest] = argv
  if (name === "--help" || name === "-h") return print(streamsHelp).pipe(Effect.as(0))
  const sub = name === undefined || !Object.hasOwn(subcommands, name) ? undefined : subcommands[name]!
  if (sub === undefined) return usage(name === undefined ? "name ls or show" : `there is no streams command '${name}'`, streamsHelp)
  return Effect.gen(function* () {
    return yield* sub.run(rest).pipe(Effect.provide(eventStoreLayer(yield* UmbraConfig)))
  }).pipe(
    Effect.catchTag("UsageError", (error) => usage(error.message, sub.help)),
    Effect.catchTags({
      StoreUnavailable: (error) => failed(error.message),
      ValidationFailed: (error) => usage(error.message, sub.help)
    })
  )
}
