import { randomUUID } from "node:crypto"
import { subjects } from "../../domain/subjects.ts"
import { requestCommand, requestOptionsHelp } from "./requestCommand.ts"

export const sendHelp = `Usage: umbra send <CommandType> --tenant <tenant> --data '<json>' [options]

Sends one command to umbra.cmd.<tenant>.<CommandType> and prints the reply. Exits 0 only when the reply
is ok. Examples:
  umbra send ConnectClient --tenant acme --data '{"clientId": "c1", "tier": "standard"}'
  umbra send RequestProduction --tenant acme --data '{"clientId": "c1", "priority": 5}'

Options:
${requestOptionsHelp}
  --command-id <uuid>    reuse an id to retry safely (default: a new UUID)
  --correlation-id <id>  ties the events to a wider conversation (default: the command id)`

export const sendCommand = requestCommand({
  help: sendHelp,
  what: "command type",
  extra: { "command-id": { type: "string" }, "correlation-id": { type: "string" } },
  subject: subjects.command,
  body: (data, options) => ({
    commandId: options["command-id"] ?? randomUUID(),
    ...(options["correlation-id"] === undefined ? {} : { correlationId: options["correlation-id"] }),
    data
  })
})
