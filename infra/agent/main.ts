#!/usr/bin/env node
import { agentCommand } from "../cli/agentCommand.ts"
import { runMain } from "../cli/runMain.ts"

// The entry point of the agent image until `umbra agent` is wired into infra/cli/main.ts.
runMain(agentCommand(process.argv.slice(2)), { disableErrorReporting: true })
