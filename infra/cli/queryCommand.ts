import { subjects } from "../../domain/subjects.ts"
import { requestCommand, requestOptionsHelp } from "./requestCommand.ts"
import { exitCodesHelp } from "./terminal.ts"

export const queryHelp = `Usage: umbra query <QueryName> --tenant <tenant> --data '<json>' [options]

Asks umbra.query.<tenant>.<QueryName> and prints the answer. Exits 0 only when the reply is ok. Example:
  umbra query Launch --tenant acme --data '{"launchId": "<the id RequestProduction's reply names>"}'

Options:
${requestOptionsHelp}

${exitCodesHelp("the reply is ok", "the reply is an error (its tag and message are printed), or NATS did not answer in time")}`

export const queryCommand = requestCommand({ help: queryHelp, what: "query", extra: {}, subject: subjects.query, body: (data) => ({ request: data }) })
