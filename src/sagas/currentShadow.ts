import { Effect } from "effect"
import { sagaStream } from "../../domain/sagas/saga.ts"
import { shadowSagaFold } from "../../domain/sagas/shadowSaga.ts"
import { loadSagaState } from "./sagaSteps.ts"

const shadowSagaState = loadSagaState(shadowSagaFold)

/** The client's shadow now, as the shadow saga recorded it (a claimed pooled shadow included). */
export const loadCurrentShadow = Effect.fn("ShadowSaga.currentShadow")(function* (tenant: string, clientId: string) {
  return (yield* shadowSagaState(sagaStream(shadowSagaFold.name, tenant, clientId))).current
})
