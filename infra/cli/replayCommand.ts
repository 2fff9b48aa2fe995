import { Context, Effect, Layer, type Stream } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import type { Position, StoredEvent } from "../../domain/envelope.ts"
import type { StoreUnavailable } from "../../src/eventStore/errors.ts"
import type { BusUnavailable } from "../../src/eventBus.ts"
import { allProjections } from "../../projections/readModels.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { eventsBetween } from "../../src/projections/projectionRunner.ts"
import { ProjectionStore } from "../../src/projections/projectionStore.ts"
import { logPages } from "../../src/replay/logPages.ts"
import { diffReadModels, type RowDifference } from "../../src/replay/readModelDiff.ts"
import { replayReadModels } from "../../src/replay/replayReadModels.ts"
import { UmbraConfig } from "../config.ts"
import { jetStreamEventLog } from "../nats/jetStreamEventLog.ts"
import { ReadModelDatabase } from "../readModels/readModelDatabase.ts"
import * as sqliteProjections from "../readModels/sqliteProjections.ts"
import { eventStoreLayer } from "../serve/eventStoreLayer.ts"
import { busUnavailable, cliConnectionLayer } from "./busClient.ts"
import { parseOptions } from "./options.ts"
import { parsePosition } from "./positionOption.ts"
import { makeProgressReport } from "./progressReport.ts"
import { exitCodesHelp, failed, print, usage } from "./terminal.ts"

const names = allProjections.map((projection) => projection.name).join(", ")

export const replayHelp = `Usage: umbra replay --all | --projection <name>... [--from <position>] [--into <dir>] [--diff]
                    [--source store|jetstream] [--creds <file>] [--json]

Rebuilds read models from the event log: each projection's rows are cleared and its checkpoint reset, then
the log is folded again a page at a time, each page's rows committed with the checkpoint (a replay cut
short is finished by the next 'umbra serve', which folds on from there). Progress goes to stderr.

Without --into it rebuilds the live read models, UMBRA_DATA_DIR/readmodels.db: stop 'umbra serve' first.
A running server would go on folding new events into the rows being rebuilt, and its queries cannot tell
that another process is rebuilding them. With --into <dir> it builds <dir>/readmodels.db and leaves the
live one alone, safe while serve runs.

Examples:
  umbra replay --all --into /tmp/check --diff
  umbra replay --projection live-index
  umbra replay --all --source jetstream --creds umbra.creds --into /tmp/rebuilt

Options:
  --all                 every projection: ${names}
  --projection <name>   this one (repeat for several)
  --from <position>     fold only the events after this log position (as 'events export' and 'streams
                        show' print it; a plain number is the SQLite store's position that many events in).
                        The rows then hold what those events made and nothing of the events before it,
                        and the checkpoint starts there: a partial read model, for looking at a stretch
                        of the log, not a live one
  --into <dir>          build into <dir>/readmodels.db (created if need be) instead of the live database
  --diff                then compare the rebuilt rows with the live ones: lists each row that differs
                        (projection, key, live, rebuilt) and exits 1 when any does, 0 when none. Without
                        --into, builds into a temporary directory removed afterwards. Rows the live
                        server folded from events appended since the replay read the log differ too
  --source <store|jetstream>
                        read the configured event store (default), or the JetStream stream
                        UMBRA_EVENTS as the relay published it: for a node without access to the store
                        (NATS_URL, NATS_CREDS or --creds say where and as whom)
  --creds <file>        with --source jetstream: a NATS .creds file
  --json                one JSON document: {"projections", "events", "skipped", "through", "into",
                        "differences": [{"projection", "key", "live", "rebuilt"}] (with --diff)}

${exitCodesHelp("rebuilt (with --diff: and no row differs)", "with --diff: rows differ; else the log could not be read or holds an event this version cannot fold")}`

/** Where a replay reads the log from: pages in position order, and how many events there are when known. */
interface EventLog {
  readonly total: number | undefined
  readonly pages: Stream.Stream<ReadonlyArray<StoredEvent>, StoreUnavailable | BusUnavailable>
}

const readModelsAt = (file: string) =>
  Layer.build(sqliteProjections.layer.pipe(Layer.provide(ReadModelDatabase.layer(file)))).pipe(
    Effect.map((context) => Context.get(context, ProjectionStore))
  )

/** The configured event store's log after `from`, with how many events that is where positions count them. */
const storeLog = (config: UmbraConfig, from: Position | undefined) =>
  Effect.gen(function* () {
    const store = Context.get(yield* Layer.build(eventStoreLayer(config)), EventStore)
    return { total: eventsBetween(from, yield* store.headPosition()), pages: logPages(store, { after: from }) }
  })

const jetStreamLog = (creds: string | undefined) =>
  Effect.gen(function* () {
    return yield* jetStreamEventLog().pipe(Effect.provide(yield* Layer.build(cliConnectionLayer(creds))))
  })

const scratchDirectory = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "umbra-replay-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const shown = (value: unknown) => (value === undefined ? "(no row)" : JSON.stringify(value))

const differenceLine = (d: RowDifference) => `${d.projection}\t${d.key}\tlive: ${shown(d.live)}\trebuilt: ${shown(d.rebuilt)}`

export const replayCommand = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { values, positionals } = yield* parseOptions(argv, {
      allowPositionals: true,
      options: {
        all: { type: "boolean", default: false },
        projection: { type: "string", multiple: true },
        from: { type: "string" },
        into: { type: "string" },
        diff: { type: "boolean", default: false },
        source: { type: "string", default: "store" },
        creds: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false }
      }
    })
    if (values.help) return yield* print(replayHelp).pipe(Effect.as(0))
    if (positionals.length > 0) return yield* usage(`unexpected ${positionals.join(" ")}`, replayHelp)
    const named = values.projection ?? []
    if (values.all === named.length > 0) return yield* usage("name --all or one or more --projection <name>", replayHelp)
    const unknown = named.filter((name) => !allProjections.some((projection) => projection.name === name))
    if (unknown.length > 0) return yield* usage(`there is no projection ${unknown.join(", ")}; there are: ${names}`, replayHelp)
    const projections = values.all ? allProjections : allProjections.filter((projection) => named.includes(projection.name))
    const from = parsePosition(values.from)
    if (from === "invalid") return yield* usage("--from is a log position: digits, as 'events export' prints them", replayHelp)
    if (values.source !== "store" && values.source !== "jetstream") return yield* usage("--source is store or jetstream", replayHelp)
    if (values.creds !== undefined && values.source !== "jetstream") return yield* usage("--creds goes with --source jetstream", replayHelp)

    const config = yield* UmbraConfig
    const live = join(config.dataDir, "readmodels.db")
    const into = values.into ?? (values.diff ? yield* scratchDirectory : undefined)
    const target = into === undefined ? live : join(into, "readmodels.db")
    if (values.diff && resolve(target) === resolve(live)) return yield* usage("--into names the live read models' directory: --diff needs another", replayHelp)

    const outcome = yield* Effect.scoped(
      Effect.gen(function* () {
        const { total, pages }: EventLog = values.source === "jetstream" ? yield* jetStreamLog(values.creds) : yield* storeLog(config, from)
        const progress = makeProgressReport("replay", total)
        const rows = yield* readModelsAt(target)
        const outcome = yield* replayReadModels(pages, { projections, from, onPage: progress.update }).pipe(Effect.provideService(ProjectionStore, rows))
        yield* progress.finish(outcome.folded)
        return outcome
      })
    )
    const differences = values.diff
      ? yield* Effect.scoped(Effect.gen(function* () {
          return yield* diffReadModels(yield* readModelsAt(live), yield* readModelsAt(target), projections)
        }))
      : undefined

    // A scratch directory of --diff's own is removed as the command ends: not worth naming.
    const kept = values.into !== undefined || !values.diff ? target : undefined
    if (values.json) {
      const { projections: names, folded: events, skipped, through } = outcome
      yield* print(JSON.stringify({ projections: names, events, skipped, through: through ?? null, into: kept ?? null, ...(differences === undefined ? {} : { differences }) }))
    } else {
      const through = outcome.through === undefined ? "" : ` through ${outcome.through}`
      yield* print(`rebuilt ${outcome.projections.join(", ")} from ${outcome.folded} events${through} into ${kept ?? "a temporary directory"}`)
      if (differences !== undefined) {
        for (const difference of differences) yield* print(differenceLine(difference))
        yield* print(differences.length === 0 ? `no differences from ${live}` : `${differences.length} row(s) differ from ${live}`)
      }
    }
    return differences !== undefined && differences.length > 0 ? 1 : 0
  }).pipe(
    Effect.scoped,
    Effect.catchTag("UsageError", (error) => usage(error.message, replayHelp)),
    Effect.catchTag("BusUnavailable", busUnavailable),
    Effect.catchTags({
      StoreUnavailable: (error) => failed(error.message),
      ValidationFailed: (error) => failed(`the log holds an event this version of Umbra cannot fold: ${error.message}`)
    })
  )
