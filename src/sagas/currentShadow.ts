import { Effect } from "effect"
import { sagaStream } from "../../domain/sagas/saga.ts"
import { currentShadow, shadowSagaName } from "../../domain/sagas/shadowSaga.ts"
import { loadSteps } from "./sagaSteps.ts"

/** The client's shadow now, as the shadow saga recorded it (a claimed pooled shadow included). */
export const loadCurrentShadow = Effect.fn("ShadowSaga.currentShadow")(function* (tenant: string, clientId: string) {
  const { steps } = yield* loadSteps(sagaStream(shadowSagaName, tenant, clientId))
  return currentShadow(steps)
})
