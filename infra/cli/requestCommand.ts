import { Effect } from "effect"
import { tokenPattern } from "../../domain/ids.ts"
import { EventBus } from "../../src/eventBus.ts"
import { busClientLayer, busUnavailable } from "./busClient.ts"
import { parseOptions } from "./options.ts"
import { print, usage } from "./terminal.ts"

/** The options every request command takes; `extra` adds a command's own (string-valued). */
export const requestOptionsHelp = `  --tenant <t>           the tenant (required): [a-z0-9][a-z0-9_-]{0,63}
  --data <json>          the fields as JSON (default {})
  --timeout <ms>         how long to wait for the reply (default 10000)
  --creds <file>         a .creds file to connect with (default NATS_CREDS, else Umbra's own in UMBRA_DATA_DIR)
  --json                 print the reply as one line of JSON`

export interface RequestCommand {
  readonly help: string
  /** What the positional argument names, in messages: "command type", "query". */
  readonly what: string
  readonly extra: Readonly<Record<string, { readonly type: "string" }>>
  readonly subject: (tenant: string, name: string) => string
  /**
   * The request body from the decoded `--data` and the command's own options; `echo`, fields printed with the
   * reply (send: the commandId it used); `note`, a line for people on stderr (send: the id it made up).
   */
  readonly body: (data: unknown, options: Readonly<Record<string, string | undefined>>) => RequestBody
}

export interface RequestBody {
  readonly request: unknown
  readonly echo?: Readonly<Record<string, unknown>>
  readonly note?: string
}

/**
 * A CLI command that sends one NATS request built from `--tenant`, `--data` and the name given, prints the
 * reply, and exits 0 only when the reply is ok.
 */
export const requestCommand = (spec: RequestCommand) => (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { values, positionals } = yield* parseOptions(argv, {
      allowPositionals: true,
      options: {
        ...spec.extra,
        tenant: { type: "string" },
        data: { type: "string", default: "{}" },
        timeout: { type: "string", default: "10000" },
        creds: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false }
      }
    })
    if (values.help === true) return yield* print(spec.help).pipe(Effect.as(0))
    const [name, ...extra] = positionals
    if (name === undefined || extra.length > 0) return yield* usage(`name exactly one ${spec.what}`, spec.help)
    const tenant = values.tenant
    if (typeof tenant !== "string" || !tokenPattern.test(tenant)) {
      return yield* usage("--tenant is required and must match [a-z0-9][a-z0-9_-]{0,63}", spec.help)
    }
    let data: unknown
    try {
      data = JSON.parse(String(values.data))
    } catch (error) {
      return yield* usage(`--data is not JSON: ${String(error)}`, spec.help)
    }
    const timeout = Number(values.timeout)
    if (!Number.isInteger(timeout) || timeout <= 0) return yield* usage("--timeout is a number of milliseconds", spec.help)
    const all = values as Readonly<Record<string, unknown>>
    const own = Object.fromEntries(Object.keys(spec.extra).map((key) => [key, typeof all[key] === "string" ? all[key] : undefined]))
    return yield* Effect.gen(function* () {
      const bus = yield* EventBus
      const { request, echo, note } = spec.body(data, own)
      if (note !== undefined) yield* Effect.sync(() => void process.stderr.write(`umbra: ${note}\n`))
      const reply = yield* bus.request(spec.subject(tenant, name), new TextEncoder().encode(JSON.stringify(request)), timeout)
      // The reply's own fields first and unchanged: scripts read ok, duplicate, events, result and error.
      const parsed = { ...(JSON.parse(new TextDecoder().decode(reply)) as { readonly ok?: boolean }), ...echo }
      yield* print(values.json === true ? JSON.stringify(parsed) : JSON.stringify(parsed, null, 2))
      return parsed.ok === true ? 0 : 1
    }).pipe(Effect.provide(busClientLayer(values.creds)))
  }).pipe(
    Effect.catchTag("BusUnavailable", busUnavailable),
    Effect.catchTag("UsageError", (error) => usage(error.message, spec.help))
  )
