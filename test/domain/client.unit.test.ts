import { describe, it } from "@effect/vitest"
import { clientDecider } from "../../domain/client/client.ts"
import type { ClientId } from "../../domain/ids.ts"
import { deciderSpec } from "../support/deciderSpec.ts"

const clientId = "c1" as ClientId
const spec = deciderSpec(clientDecider)
const connected = { _tag: "ClientConnected", clientId, tier: "standard" } as const

describe("Client", () => {
  it.effect("connects a new client with only its id and tier", () =>
    spec.given([]).when({ _tag: "ConnectClient", clientId, tier: "standard" }).then([connected]))

  it.effect("refuses to connect a client twice", () =>
    spec.given([connected]).when({ _tag: "ConnectClient", clientId, tier: "basic" }).thenFails("IllegalState"))

  it.effect("reconnects a client that disconnected", () =>
    spec
      .given([connected, { _tag: "ClientDisconnected", clientId, reason: "requested" }])
      .when({ _tag: "ConnectClient", clientId, tier: "premium" })
      .then([{ _tag: "ClientConnected", clientId, tier: "premium" }]))

  it.effect("disconnects a connected client, with a default reason", () =>
    spec
      .given([connected])
      .when({ _tag: "DisconnectClient", clientId })
      .then([{ _tag: "ClientDisconnected", clientId, reason: "requested" }]))

  it.effect("refuses to disconnect a client that is not connected", () =>
    spec.given([]).when({ _tag: "DisconnectClient", clientId }).thenFails("IllegalState"))
})
