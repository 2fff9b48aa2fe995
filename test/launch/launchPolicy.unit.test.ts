import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { defaultLaunchWorkflowPolicy } from "../../domain/launch/launchWorkflow.ts"
import { defaultTrafficGates } from "../../domain/launch/trafficGate.ts"
import { OrchestratorConfig, orchestratorOptions } from "../../infra/serve/orchestratorConfig.ts"
import { defaultLaunchPolicy } from "../../src/launch/launchRunner.ts"

describe("launch policy", () => {
  it.effect("with nothing set, the configuration gives the defaults the README documents, from one place each", () =>
    Effect.gen(function* () {
      const config = yield* OrchestratorConfig.parse(ConfigProvider.fromUnknown({}))
      assert.deepStrictEqual(
        [config.launchSteps, config.launchHoldMs, config.launchMaxErrorRate, config.launchMaxP99Ms, config.launchMinRequests],
        [[5, 25, 50, 100], 10_000, 0.01, 1_000, 20]
      )
      assert.deepStrictEqual([config.launchReadyTimeoutMs, config.launchConcurrency, config.transferMaxBytes], [60_000, 2, 1_073_741_824])
      const agent = { natsUrl: "nats://127.0.0.1:4222", heartbeatMs: config.heartbeatMs }
      assert.deepStrictEqual(orchestratorOptions(config, agent.natsUrl).launch, defaultLaunchPolicy(agent, { size: config.poolSize }))
    }))

  it("the workflow's gates are the traffic gates' defaults, and a lost heartbeat is five silent intervals", () => {
    assert.strictEqual(defaultLaunchWorkflowPolicy.gates, defaultTrafficGates)
    assert.strictEqual(defaultLaunchWorkflowPolicy.heartbeatLostMs, 5_000)
  })
})
