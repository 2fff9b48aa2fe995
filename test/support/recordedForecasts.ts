import { handleAs } from "./readModelSpec.ts"

/** Records a forecast of a client's CPU at `at` (now by default), as the scaling engine does once a 5-minute bucket is complete. */
export const recordForecast = (
  tenant: string,
  clientId: string,
  horizons: ReadonlyArray<{ readonly minutes: number; readonly predicted: number; readonly upper: number }>,
  at = new Date().toISOString()
) =>
  handleAs(tenant, "RecordForecast", {
    clientId,
    metric: "cpu",
    model: "holt",
    horizons,
    quality: { modelError: 0.1, lastValueError: 0.2, meanDemand: 0.05, shortfall: 0, slack: 0.2, scoredSteps: 4 },
    fallback: false,
    reason: "model"
  }, at)
