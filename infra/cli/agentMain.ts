#!/usr/bin/env node
import { agentCommand } from "./agentCommand.ts"
import { runMain } from "../runMain.ts"

// The agent image's entry point: the agent alone, without the rest of the CLI.
runMain(agentCommand(process.argv.slice(2)), { disableErrorReporting: true })
