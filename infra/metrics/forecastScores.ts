import { Clock, Effect } from "effect"
import type { ForecastScore } from "../../src/metrics.ts"
import { fromReading, gauge, type Sample, type SourceSeries } from "./scrapedSeries.ts"

/** The engine records each active client's forecasts every 5 minutes: a score older than this is of a client gone quiet. */
export const freshForMs = 30 * 60_000

interface Scored extends ForecastScore {
  readonly atMs: number
}

interface TenantMetric {
  readonly tenant: string
  readonly metric: string
  steps: number
  shortWeighted: number
  slackWeighted: number
  clients: number
  fallback: number
}

const labelsOf = (group: TenantMetric) => ({ tenant: group.tenant, metric: group.metric })

/** A ratio weighted by scored steps, for the groups with any. */
const weighted = (value: (group: TenantMetric) => number) => (groups: ReadonlyArray<TenantMetric>) =>
  groups.filter((group) => group.steps > 0).map((group): Sample => [labelsOf(group), value(group) / group.steps])

/**
 * Forecast quality per tenant and metric, from the latest score of each client (never a client label: a
 * tenant may have many). Shortfall and slack are the clients' means weighted by their scored steps, so the
 * shortfall is the share of all the tenant's scored steps that were short.
 */
export const makeForecastScores = () => {
  const latest = new Map<string, Scored>()

  const byTenantAndMetric = Effect.gen(function* () {
    const oldest = (yield* Clock.currentTimeMillis) - freshForMs
    const groups = new Map<string, TenantMetric>()
    for (const [key, score] of latest) {
      if (score.atMs < oldest) {
        latest.delete(key)
        continue
      }
      const id = `${score.tenant}/${score.metric}`
      const group = groups.get(id) ?? { tenant: score.tenant, metric: score.metric, steps: 0, shortWeighted: 0, slackWeighted: 0, clients: 0, fallback: 0 }
      group.steps += score.scoredSteps
      group.shortWeighted += score.shortfall * score.scoredSteps
      group.slackWeighted += score.slack * score.scoredSteps
      group.clients += 1
      if (score.fallback) group.fallback += 1
      groups.set(id, group)
    }
    return [...groups.values()]
  })

  const series: SourceSeries = fromReading(byTenantAndMetric, [
    gauge(
      "umbra_forecast_shortfall_ratio",
      "Share of the recently scored 5-minute steps whose demand exceeded the forecast's provisioning bound, over the tenant's clients",
      ["tenant", "metric"],
      weighted((group) => group.shortWeighted)
    ),
    gauge(
      "umbra_forecast_slack_ratio",
      "Share of the provisioning bound left unused over the recently scored steps, over the tenant's clients",
      ["tenant", "metric"],
      weighted((group) => group.slackWeighted)
    ),
    gauge(
      "umbra_forecast_clients",
      "Clients the scaling engine recorded a forecast for in the last 30 minutes, and whether the conservative fallback sized them",
      ["tenant", "metric", "fallback"],
      (groups) =>
        groups.flatMap((group): Array<Sample> => [
          [{ ...labelsOf(group), fallback: "false" }, group.clients - group.fallback],
          [{ ...labelsOf(group), fallback: "true" }, group.fallback]
        ])
    )
  ])

  return {
    series,
    record: (score: ForecastScore) =>
      Clock.currentTimeMillis.pipe(Effect.map((atMs) => void latest.set(`${score.tenant}/${score.clientId}/${score.metric}`, { ...score, atMs })))
  }
}
