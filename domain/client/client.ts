import { Effect, Schema } from "effect"
import type { Aggregate, Decider } from "../decider.ts"
import { IllegalState } from "../errors.ts"
import { ClientId } from "../ids.ts"
import { Tier } from "../profile/resources.ts"
import { Network, Template, TenantTemplate } from "../profile/template.ts"

export const ConnectClient = Schema.TaggedStruct("ConnectClient", {
  clientId: ClientId,
  tier: Tier,
  template: Schema.optionalKey(TenantTemplate),
  network: Schema.optionalKey(Network)
})
export const DisconnectClient = Schema.TaggedStruct("DisconnectClient", {
  clientId: ClientId,
  reason: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(512)))
})
export const ClientCommand = Schema.Union([ConnectClient, DisconnectClient])
export type ClientCommand = typeof ClientCommand.Type

export const ClientConnected = Schema.TaggedStruct("ClientConnected", {
  clientId: ClientId,
  tier: Tier,
  template: Schema.optionalKey(Template),
  network: Schema.optionalKey(Network)
})
export const ClientDisconnected = Schema.TaggedStruct("ClientDisconnected", {
  clientId: ClientId,
  reason: Schema.String
})
export const ClientEvent = Schema.Union([ClientConnected, ClientDisconnected])
export type ClientEvent = typeof ClientEvent.Type

export const ClientState = Schema.Union([
  Schema.TaggedStruct("Absent", {}),
  Schema.TaggedStruct("Connected", { tier: Tier }),
  Schema.TaggedStruct("Disconnected", {})
])
export type ClientState = typeof ClientState.Type

export const clientDecider: Decider<ClientCommand, ClientEvent, ClientState> = {
  initialState: { _tag: "Absent" },
  evolve: (_state, event) => {
    switch (event._tag) {
      case "ClientConnected":
        return { _tag: "Connected", tier: event.tier }
      case "ClientDisconnected":
        return { _tag: "Disconnected" }
    }
  },
  decide: (command, state) => {
    switch (command._tag) {
      case "ConnectClient": {
        if (state._tag === "Connected") {
          return Effect.fail(
            new IllegalState({ message: `client ${command.clientId} is already connected`, details: { clientId: command.clientId } })
          )
        }
        const { _tag, ...fields } = command
        return Effect.succeed([{ ...fields, _tag: "ClientConnected" }])
      }
      case "DisconnectClient":
        return state._tag === "Connected"
          ? Effect.succeed([{ _tag: "ClientDisconnected", clientId: command.clientId, reason: command.reason ?? "requested" }])
          : Effect.fail(
              new IllegalState({ message: `client ${command.clientId} is not connected`, details: { clientId: command.clientId } })
            )
    }
  }
}

export const clientAggregate: Aggregate<ClientCommand, ClientEvent, ClientState> = {
  category: "client",
  commands: ClientCommand,
  events: ClientEvent,
  decider: clientDecider,
  idOf: (command) => command.clientId,
  access: { ConnectClient: "public", DisconnectClient: "public" },
  snapshot: { version: 1, schema: ClientState }
}
