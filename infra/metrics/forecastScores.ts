import { Gauge, type Registry } from "prom-client"
import type { ForecastScore } from "../../src/metrics.ts"

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

/**
 * Forecast quality per tenant and metric, from the latest score of each client (never a client label: a
 * tenant may have many). Shortfall and slack are the clients' means weighted by their scored steps, so the
 * shortfall is the share of all the tenant's scored steps that were short.
 */
export const makeForecastScores = (registry: Registry, now: () => Promise<number>) => {
  const latest = new Map<string, Scored>()

  const byTenantAndMetric = async () => {
    const oldest = (await now()) - freshForMs
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
  }

  const labelNames = ["tenant", "metric"]
  new Gauge({
    name: "umbra_forecast_shortfall_ratio",
    help: "Share of the recently scored 5-minute steps whose demand exceeded the forecast's provisioning bound, over the tenant's clients",
    labelNames,
    registers: [registry],
    async collect() {
      const groups = await byTenantAndMetric()
      this.reset()
      for (const g of groups) if (g.steps > 0) this.set({ tenant: g.tenant, metric: g.metric }, g.shortWeighted / g.steps)
    }
  })
  new Gauge({
    name: "umbra_forecast_slack_ratio",
    help: "Share of the provisioning bound left unused over the recently scored steps, over the tenant's clients",
    labelNames,
    registers: [registry],
    async collect() {
      const groups = await byTenantAndMetric()
      this.reset()
      for (const g of groups) if (g.steps > 0) this.set({ tenant: g.tenant, metric: g.metric }, g.slackWeighted / g.steps)
    }
  })
  new Gauge({
    name: "umbra_forecast_clients",
    help: "Clients the scaling engine recorded a forecast for in the last 30 minutes, and whether the conservative fallback sized them",
    labelNames: [...labelNames, "fallback"],
    registers: [registry],
    async collect() {
      const groups = await byTenantAndMetric()
      this.reset()
      for (const g of groups) {
        this.set({ tenant: g.tenant, metric: g.metric, fallback: "false" }, g.clients - g.fallback)
        this.set({ tenant: g.tenant, metric: g.metric, fallback: "true" }, g.fallback)
      }
    }
  })

  return {
    record: (score: ForecastScore, atMs: number) => void latest.set(`${score.tenant}/${score.clientId}/${score.metric}`, { ...score, atMs })
  }
}
