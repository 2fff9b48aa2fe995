import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { catchUpLiveIndex } from "../../src/projections/liveIndex.ts"
import { ControlPlaneHttp, controlPlaneTestLayer, send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { sampleOf } from "../support/metricsText.ts"

/** An HTTP request to the control plane under test: its status, content type and body. */
const get = (path: string, method = "GET") =>
  Effect.gen(function* () {
    const http = yield* ControlPlaneHttp
    assert.isDefined(http, "the control plane serves HTTP")
    return yield* Effect.promise(async () => {
      const response = await fetch(`http://${http!.host}:${http!.port}${path}`, { method })
      return { status: response.status, contentType: response.headers.get("content-type"), body: await response.text() }
    })
  })

const scrape = get("/metrics").pipe(Effect.map(({ body }) => body))

layer(controlPlaneTestLayer, { excludeTestServices: true, timeout: "90 seconds" })("/metrics of a running control plane", (it) => {
  it.effect("counts commands by outcome, with latencies, and reads the relay, consumers and projections when scraped", () =>
    Effect.gen(function* () {
      const commandId = randomUUID()
      assert.isTrue((yield* send("acme", "ConnectClient", { clientId: "m1", tier: "basic" }, commandId)).ok)
      assert.isTrue((yield* send("acme", "ConnectClient", { clientId: "m1", tier: "basic" }, commandId)).duplicate)
      assert.strictEqual((yield* send("acme", "ConnectClient", { clientId: "m2", tier: "gold" })).error?.tag, "ValidationFailed")
      assert.strictEqual((yield* send("acme", "Teleport", {})).error?.tag, "UnknownCommand")
      assert.strictEqual((yield* send("ACME", "ConnectClient", { clientId: "m3", tier: "basic" })).error?.tag, "InvalidTenant")

      const { status, contentType, body: text } = yield* get("/metrics")
      assert.strictEqual(status, 200)
      assert.match(contentType ?? "", /^text\/plain; version=0\.0\.4/)
      assert.isAtLeast(sampleOf(text, "umbra_commands_total", 'tenant="acme",type="ConnectClient",outcome="ok"') ?? 0, 1)
      assert.strictEqual(sampleOf(text, "umbra_commands_total", 'tenant="acme",type="ConnectClient",outcome="duplicate"'), 1)
      assert.strictEqual(sampleOf(text, "umbra_commands_total", 'tenant="acme",type="ConnectClient",outcome="ValidationFailed"'), 1)
      // A name that is no command is counted without becoming a label value.
      assert.strictEqual(sampleOf(text, "umbra_commands_total", 'tenant="acme",type="other",outcome="UnknownCommand"'), 1)
      assert.notInclude(text, "Teleport")
      assert.strictEqual(sampleOf(text, "umbra_commands_total", 'tenant="",type="ConnectClient",outcome="InvalidTenant"'), 1)
      assert.include(text, "# TYPE umbra_command_duration_seconds histogram")
      assert.strictEqual(sampleOf(text, "umbra_command_duration_seconds_bucket", 'le="+Inf",type="ConnectClient",outcome="ok"'), 1)
      assert.strictEqual(sampleOf(text, "umbra_command_duration_seconds_count", 'type="ConnectClient",outcome="ok"'), 1)

      assert.isAtLeast(sampleOf(text, "umbra_relay_lag_events") ?? -1, 0)
      assert.strictEqual(sampleOf(text, "umbra_relay_failing"), 0)
      assert.isAtLeast(sampleOf(text, "umbra_projection_lag_events", 'projection="fleet"') ?? -1, 0)
      assert.isAtLeast(sampleOf(text, "umbra_telemetry_checkpoint_sequence") ?? -1, 0)

      // The relay publishes what was stored, the connect saga consumes it, and the projections fold it.
      yield* eventually(
        scrape.pipe(Effect.map((now) =>
          sampleOf(now, "umbra_relay_lag_events") === 0 &&
          (sampleOf(now, "umbra_relay_published_events_total") ?? 0) >= 1 &&
          (sampleOf(now, "umbra_relay_checkpoint_position") ?? 0) >= 1 &&
          sampleOf(now, "umbra_consumer_pending_messages", 'consumer="saga-connect-client"') === 0 &&
          sampleOf(now, "umbra_projection_lag_events", 'projection="tenant"') === 0 &&
          (sampleOf(now, "umbra_projection_checkpoint_position", 'projection="tenant"') ?? 0) >= 1
        )),
        20_000,
        "relay, connect saga and tenant projection caught up, as /metrics says"
      )

      // The tenants are those of the live index, which the orchestrator (not run here) keeps folding.
      yield* catchUpLiveIndex
      const tenants = yield* scrape
      assert.strictEqual(sampleOf(tenants, "umbra_clients", 'tenant="acme",state="connected"'), 1)
      assert.strictEqual(sampleOf(tenants, "umbra_instances", 'tenant="acme",role="shadow"'), 0)
      assert.strictEqual(sampleOf(tenants, "umbra_launches", 'tenant="acme",outcome="completed"'), 0)
    }))

  it.effect("answers only GET on the paths it has", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* get("/nothing-here")).status, 404)
      assert.strictEqual((yield* get("/metrics", "POST")).status, 405)
      assert.strictEqual((yield* get("/metrics", "HEAD")).status, 200)
    }))
})
