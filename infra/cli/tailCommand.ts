import { Effect, Stream } from "effect"
import { tokenPattern } from "../../domain/ids.ts"
import { subjects } from "../../domain/subjects.ts"
import { BusUnavailable, EventBus, type FollowFrom } from "../../src/eventBus.ts"
import { NatsAccessConfig } from "../config.ts"
import { credsTenant } from "../natsAuth/natsAccess.ts"
import { busClientLayer, busUnavailable } from "./busClient.ts"
import { parseOptions } from "./options.ts"
import { exitCodesHelp, print, usage } from "./terminal.ts"

export const tailHelp = `Usage: umbra tail [--tenant <t>] [--type <EventType>] [--from start|now|<seq>] [--creds <file>] [--json]

Follows events on JetStream (UMBRA_EVENTS) as they arrive, until interrupted. Example, as tenant acme:
  umbra tail --creds acme.creds --from start

Options:
  --tenant <t>     only this tenant's events (default: the tenant of --creds, else every tenant)
  --creds <file>   a .creds file to connect with (default NATS_CREDS, else Umbra's own in UMBRA_DATA_DIR)
  --type <T>       only events of this type, e.g. ProfileCreated
  --from <where>   start (everything kept), now (only new events; the default) or a stream sequence
  --json           one JSON document per line: {"seq", "event": {...the envelope...}}

${exitCodesHelp("interrupted (Ctrl-C) or the stream ended", "NATS did not answer, or the credentials may not read these events")}`

const parseFrom = (from: string): FollowFrom | undefined => {
  if (from === "start" || from === "now") return from
  const seq = Number(from)
  return Number.isInteger(seq) && seq > 0 ? seq : undefined
}

export const tailCommand = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { values, positionals } = yield* parseOptions(argv, {
      allowPositionals: true,
      options: {
        tenant: { type: "string" },
        type: { type: "string" },
        from: { type: "string", default: "now" },
        creds: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false }
      }
    })
    if (values.help) return yield* print(tailHelp).pipe(Effect.as(0))
    if (positionals.length > 0) return yield* usage(`unexpected ${positionals.join(" ")}`, tailHelp)
    if (values.tenant !== undefined && !tokenPattern.test(values.tenant)) {
      return yield* usage("--tenant must match [a-z0-9][a-z0-9_-]{0,63}", tailHelp)
    }
    const from = parseFrom(values.from)
    if (from === undefined) return yield* usage("--from is start, now or a positive stream sequence", tailHelp)
    const access = yield* NatsAccessConfig
    const tenant = values.tenant ?? (yield* credsTenant(access, values.creds).pipe(Effect.mapError((error) => new BusUnavailable({ message: error.message }))))
    return yield* Effect.gen(function* () {
      const bus = yield* EventBus
      yield* bus.followEvents({ filterSubject: subjects.eventsOf(tenant ?? "*"), from }).pipe(
        Stream.filter(({ event }) => values.type === undefined || event.type === values.type),
        Stream.runForEach(({ seq, event }) =>
          print(
            values.json
              ? JSON.stringify({ seq, event })
              : `${seq}\t${event.at}\t${event.tenant}\t${event.type}\t${event.stream}@${event.revision}\t${JSON.stringify(event.data)}`
          )
        )
      )
      return 0
    }).pipe(Effect.provide(busClientLayer(values.creds)))
  }).pipe(
    Effect.catchTag("BusUnavailable", busUnavailable),
    Effect.catchTag("UsageError", (error) => usage(error.message, tailHelp))
  )
