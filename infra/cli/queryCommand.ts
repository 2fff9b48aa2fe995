import { subjects } from "../../domain/subjects.ts"
import { requestCommand, requestOptionsHelp } from "./requestCommand.ts"

export const queryHelp = `Usage: umbra query <QueryName> --tenant <tenant> --data '<json>' [options]

Asks umbra.query.<tenant>.<QueryName> and prints the answer. Exits 0 only when the reply is ok. Example:
  umbra query Launch --tenant acme --data '{"launchId": "<the id RequestProduction's reply names>"}'

Options:
${requestOptionsHelp}`

export const queryCommand = requestCommand({ help: queryHelp, what: "query", extra: {}, subject: subjects.query, body: (data) => data })
