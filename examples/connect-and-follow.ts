/**
 * A tenant connects a client, follows its events until Umbra has made the client's shadow profile, reads
 * its fleet, and disconnects the client. Beside a running `umbra serve`:
 *
 *   npx umbra tenant add acme                       # prints the path of acme's .creds file
 *   NATS_CREDS=.umbra/tenants/acme.creds node examples/connect-and-follow.ts c1
 *
 * The server is found as the CLI finds it (NATS_URL, else the one `umbra serve` started in UMBRA_DATA_DIR).
 */
import { UmbraClient, UmbraError } from "umbra/client"

const clientId = process.argv[2] ?? "example"
const client = await UmbraClient.connect({ ...(process.env["NATS_CREDS"] ? { creds: process.env["NATS_CREDS"] } : {}) })
try {
  const connected = await client.send("ConnectClient", { clientId, tier: "standard" })
  console.log(`sent ConnectClient ${connected.commandId} as ${client.tenant}: ${connected.events.map((e) => e.type).join(", ")}`)

  // From the start: the profile may already be made by the time a live subscription would begin.
  for await (const { seq, event } of client.events({ from: "start" })) {
    if (!("clientId" in event) || event.clientId !== clientId) continue
    console.log(`event ${seq} ${event._tag}`)
    if (event._tag === "ProfileCreated") {
      const { cpuMillis, memoryMiB, storageGiB } = event.expected
      console.log(`profile of ${clientId}: ${cpuMillis} mCPU, ${memoryMiB} MiB, ${storageGiB} GiB (from its ${event.basis})`)
      break
    }
  }

  const fleet = await client.query("Fleet")
  console.log(`fleet: ${fleet.instances.length} instance(s)`)
  for (const instance of fleet.instances) console.log(`  ${instance.instanceId} ${instance.role} ${instance.state}`)

  const disconnected = await client.send("DisconnectClient", { clientId, reason: "example done" })
  console.log(`sent DisconnectClient: ${disconnected.events.map((e) => e.type).join(", ")}`)
} catch (error) {
  if (!(error instanceof UmbraError)) throw error
  console.error(`umbra refused: ${error.tag}: ${error.message}`)
  process.exitCode = 1
} finally {
  await client.close()
}
