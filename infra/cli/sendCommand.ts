import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { tokenPattern } from "../../domain/ids.ts"
import { subjects } from "../../domain/subjects.ts"
import { EventBus } from "../../src/eventBus.ts"
import { busClientLayer, busUnavailable } from "./busClient.ts"
import { parseOptions } from "./options.ts"
import { print, usage } from "./runMain.ts"

export const sendHelp = `Usage: umbra send <CommandType> --tenant <tenant> --data '<json>' [options]

Sends one command to umbra.cmd.<tenant>.<CommandType> and prints the reply. Exits 0 only when the reply
is ok. Example:
  umbra send ConnectClient --tenant acme --data '{"clientId": "c1", "tier": "standard"}'

Options:
  --tenant <t>           the tenant (required): [a-z0-9][a-z0-9_-]{0,63}
  --data <json>          the command's fields as JSON (default {})
  --command-id <uuid>    reuse an id to retry safely (default: a new UUID)
  --correlation-id <id>  ties the events to a wider conversation (default: the command id)
  --timeout <ms>         how long to wait for the reply (default 10000)
  --json                 print the reply as one line of JSON`

export const sendCommand = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { values, positionals } = yield* parseOptions(argv, {
      allowPositionals: true,
      options: {
        tenant: { type: "string" },
        data: { type: "string", default: "{}" },
        "command-id": { type: "string" },
        "correlation-id": { type: "string" },
        timeout: { type: "string", default: "10000" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false }
      }
    })
    if (values.help) return yield* print(sendHelp).pipe(Effect.as(0))
    const [type, ...extra] = positionals
    if (type === undefined || extra.length > 0) return yield* usage("name exactly one command type", sendHelp)
    if (values.tenant === undefined || !tokenPattern.test(values.tenant)) {
      return yield* usage("--tenant is required and must match [a-z0-9][a-z0-9_-]{0,63}", sendHelp)
    }
    let data: unknown
    try {
      data = JSON.parse(values.data)
    } catch (error) {
      return yield* usage(`--data is not JSON: ${String(error)}`, sendHelp)
    }
    const timeout = Number(values.timeout)
    if (!Number.isInteger(timeout) || timeout <= 0) return yield* usage("--timeout is a number of milliseconds", sendHelp)
    const body = {
      commandId: values["command-id"] ?? randomUUID(),
      ...(values["correlation-id"] === undefined ? {} : { correlationId: values["correlation-id"] }),
      data
    }
    const bus = yield* EventBus
    const reply = yield* bus.request(subjects.command(values.tenant, type), new TextEncoder().encode(JSON.stringify(body)), timeout)
    const parsed = JSON.parse(new TextDecoder().decode(reply)) as { readonly ok?: boolean }
    yield* print(values.json ? JSON.stringify(parsed) : JSON.stringify(parsed, null, 2))
    return parsed.ok === true ? 0 : 1
  }).pipe(
    Effect.provide(busClientLayer),
    Effect.catchTag("BusUnavailable", busUnavailable),
    Effect.catchTag("UsageError", (error) => usage(error.message, sendHelp))
  )
