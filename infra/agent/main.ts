#!/usr/bin/env node
import { agentCommand } from "../cli/agentCommand.ts"
import { runMain } from "../cli/runMain.ts"

// The agent image's entry point: the agent alone, without the rest of the CLI.
runMain(agentCommand(process.argv.slice(2)), { disableErrorReporting: true })
