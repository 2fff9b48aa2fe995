import { Effect } from "effect"
import { decodeCommand } from "../../domain/commands.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { causedBy, issueCommand } from "../../src/commands/issueCommand.ts"

/**
 * Records a shadow of `clientId` in the store as the shadow saga's DeployShadow does, without starting
 * anything: what the telemetry ingest needs to know whom an instance's samples count for.
 */
export const recordInstance = (tenant: string, instanceId: string, clientId: string) =>
  Effect.gen(function* () {
    const cause = causedBy(`test-deploy/${tenant}/${instanceId}`)
    const command = yield* decodeCommand(
      "DeployShadow",
      { instanceId, clientId, tier: "basic", template: defaultTemplate, network: defaultNetwork, resources: { cpuMillis: 125, memoryMiB: 128 } },
      cause.commandId
    )!
    return yield* issueCommand(tenant, cause, command)
  })
