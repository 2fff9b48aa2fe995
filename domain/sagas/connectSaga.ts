import type { Saga } from "./saga.ts"

/** On ClientConnected, create the client's shadow profile from its tier, template and network. */
export const connectSaga: Saga<null> = {
  name: "connect",
  categories: ["client"],
  handles: ["ClientConnected"],
  keyOf: (event) => ("clientId" in event ? event.clientId : ""),
  initialState: null,
  evolve: (state) => state,
  decide: ({ event }) => {
    if (event._tag !== "ClientConnected") return []
    const { _tag, ...fields } = event
    return [{ ...fields, _tag: "CreateProfile" }]
  }
}
