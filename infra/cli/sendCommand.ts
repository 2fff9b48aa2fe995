import { randomUUID } from "node:crypto"
import { subjects } from "../../domain/subjects.ts"
import { requestCommand, requestOptionsHelp } from "./requestCommand.ts"
import { exitCodesHelp } from "./terminal.ts"

export const sendHelp = `Usage: umbra send <CommandType> --tenant <tenant> --data '<json>' [options]

Sends one command to umbra.cmd.<tenant>.<CommandType> and prints the reply. Exits 0 only when the reply
is ok. Examples:
  umbra send ConnectClient --tenant acme --data '{"clientId": "c1", "tier": "standard"}'
  umbra send RequestProduction --tenant acme --data '{"clientId": "c1", "priority": 5}'

Options:
${requestOptionsHelp}
  --command-id <uuid>    reuse an id to retry safely (default: a new UUID)
  --correlation-id <id>  ties the events to a wider conversation (default: the command id)

Without --command-id the id it made up is said on stderr, and is "commandId" in the --json reply: send
again with it to retry safely (the reply then says "duplicate": true).

${exitCodesHelp("the reply is ok (a duplicate too)", "the reply is an error (its tag and message are printed), or NATS did not answer in time")}`

export const sendCommand = requestCommand({
  help: sendHelp,
  what: "command type",
  extra: { "command-id": { type: "string" }, "correlation-id": { type: "string" } },
  subject: subjects.command,
  body: (data, options) => {
    const given = options["command-id"]
    const commandId = given ?? randomUUID()
    return {
      request: {
        commandId,
        ...(options["correlation-id"] === undefined ? {} : { correlationId: options["correlation-id"] }),
        data
      },
      echo: { commandId },
      ...(given === undefined ? { note: `command id ${commandId} (to retry safely, send again with --command-id ${commandId})` } : {})
    }
  }
})
