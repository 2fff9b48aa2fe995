import { Effect } from "effect"
import { productionSaga } from "../../domain/sagas/productionSaga.ts"
import { sagaStream } from "../../domain/sagas/saga.ts"
import { loadSagaState } from "./sagaSteps.ts"

const productionSagaState = loadSagaState(productionSaga)

/** The client's production instance now and the launch that made it, as the production saga recorded them. */
export const loadCurrentProduction = Effect.fn("ProductionSaga.currentProduction")(function* (tenant: string, clientId: string) {
  return (yield* productionSagaState(sagaStream(productionSaga.name, tenant, clientId))).production
})
