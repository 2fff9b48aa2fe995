import { backtestCommand } from "./backtestCommand.ts"

process.exitCode = await backtestCommand(process.argv.slice(2))
