// Umbra's dashboard: read-only views of the API under /api, refreshed as the tenant's server-sent events arrive.
// Plain browser JavaScript, served as it is (no build step); uPlot is the only library.
"use strict"

const tokenKey = "umbra.dashboardToken"
/** The window a forecast chart shows: the recent past and the horizons ahead. */
const chartPastMs = 6 * 3600_000
const chartAheadMs = 2 * 3600_000
/** Events come in bursts (a launch's steps, a resize): the views are read again at most this often. */
const refreshAfterMs = 300

// A token in the address (#token=…) is taken once and removed from it: a fragment never reaches a server,
// and the session keeps it out of the history.
const takeToken = () => {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token")
  if (fromHash) {
    sessionStorage.setItem(tokenKey, fromHash)
    history.replaceState(null, "", location.pathname)
  }
  return sessionStorage.getItem(tokenKey)
}

/** An element with attributes and children; text is always text (names and reasons are never markup). */
const el = (tag, attributes = {}, ...children) => {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value))
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) node.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return node
}

class Unauthorized extends Error {}

const api = async (token, path) => {
  const response = await fetch(path, { headers: { authorization: `Bearer ${token}` }, cache: "no-store" })
  if (response.status === 401) throw new Unauthorized((await response.json()).error.message)
  const body = await response.json()
  if (!body.ok) throw new Error(`${body.error.tag}: ${body.error.message}`)
  return body.result
}

const ago = (at) => {
  if (!at) return "never"
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(at)) / 1000))
  return seconds < 120 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`
}
const ms = (value) => (value === null || value === undefined ? "–" : `${Math.round(value * 10) / 10} ms`)
const bytes = (value) => (value >= 1 << 20 ? `${(value / (1 << 20)).toFixed(1)} MiB` : `${(value / 1024).toFixed(1)} KiB`)

/** The gate readings a weight step passed with, e.g. "412 req · 0 errors · p99 38 ms · hb p99 4 ms"; only those measured. */
const passedText = (passed) =>
  [
    ...(passed.traffic ? [`${passed.traffic.requests} req`, `${passed.traffic.errors} errors`, `p99 ${Math.round(passed.traffic.p99Ms)} ms`] : []),
    ...(passed.heartbeatP99Ms === undefined ? [] : [`hb p99 ${Math.round(passed.heartbeatP99Ms)} ms`]),
    `held ${(passed.heldMs / 1000).toFixed(1)} s`
  ].join(" · ")

/** One tenant's section: its fleet, a chart per client and metric, a timeline per launch. */
class TenantView {
  constructor(token, tenant) {
    this.token = token
    this.tenant = tenant
    this.charts = new Map()
    this.heartbeats = new Map()
    this.timer = undefined
    this.fleetTable = el("tbody")
    this.chartsBox = el("div", { class: "charts" })
    this.launchesBox = el("div", { class: "launches" })
    this.liveLabel = el("span", { class: "live" }, "connecting…")
    this.root = el(
      "section",
      { class: "tenant", id: `tenant-${tenant}`, "data-tenant": tenant, "data-live": "false" },
      el("h2", {}, tenant, this.liveLabel),
      el("h3", {}, "Fleet"),
      el(
        "table",
        { class: "fleet" },
        el("thead", {}, el("tr", {}, ["Instance", "Role", "State", "CPU", "Memory", "Last heartbeat", "Latency last / p99", "φ", "Missed", "Image"].map((h) => el("th", {}, h)))),
        this.fleetTable
      ),
      el("h3", {}, "Demand against forecast"),
      this.chartsBox,
      el("h3", {}, "Launches"),
      this.launchesBox
    )
  }

  async start() {
    this.follow()
    await this.refresh()
  }

  /** Reads the views again soon, once for a burst of events. */
  soon() {
    if (this.timer !== undefined) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.refresh().catch((error) => console.error(error))
    }, refreshAfterMs)
  }

  async refresh() {
    const base = `/api/${encodeURIComponent(this.tenant)}`
    const [fleet, liveness, launches] = await Promise.all([api(this.token, `${base}/fleet`), api(this.token, `${base}/liveness`), api(this.token, `${base}/launches`)])
    this.renderFleet(fleet.instances, liveness.instances)
    this.renderLaunches(launches.launches)
    const clients = [...new Set(fleet.instances.map((i) => i.clientId).concat(launches.launches.map((l) => l.clientId)))].sort()
    await Promise.all(clients.map((clientId) => this.refreshChart(clientId)))
  }

  renderFleet(instances, liveness) {
    const live = new Map(liveness.map((row) => [row.instanceId, row]))
    const byClient = new Map()
    for (const instance of instances) byClient.set(instance.clientId, [...(byClient.get(instance.clientId) ?? []), instance])
    const rows = []
    for (const [clientId, ofClient] of [...byClient].sort(([a], [b]) => a.localeCompare(b))) {
      rows.push(el("tr", { class: "client-head", "data-client": clientId }, el("td", { colspan: 10 }, `client ${clientId}`)))
      const order = { production: 0, shadow: 1, pooled: 2 }
      for (const instance of ofClient.sort((a, b) => order[a.role] - order[b.role] || a.instanceId.localeCompare(b.instanceId))) {
        const beat = this.heartbeats.get(instance.instanceId)
        const last = [instance.lastHeartbeat?.at, live.get(instance.instanceId)?.lastHeartbeat?.at, beat?.at].filter(Boolean).sort().at(-1)
        const row = live.get(instance.instanceId)
        rows.push(
          el(
            "tr",
            { "data-instance": instance.instanceId, "data-client": clientId, "data-role": instance.role, "data-state": instance.state },
            el("td", {}, instance.instanceId),
            el("td", {}, instance.role),
            el("td", { class: `state-${instance.state}` }, instance.state),
            el("td", { class: "num" }, `${instance.resources.cpuMillis} m`),
            el("td", { class: "num" }, `${instance.resources.memoryMiB} MiB`),
            el("td", { class: "heartbeat", "data-at": last ?? "" }, ago(last)),
            el("td", { class: "num" }, row?.latency ? `${ms(row.latency.lastMs)} / ${ms(row.latency.p99Ms)}` : "–"),
            el("td", { class: "num" }, row?.phi ?? "–"),
            el("td", { class: "num" }, row?.missed ?? 0),
            el("td", {}, instance.image)
          )
        )
      }
    }
    if (rows.length === 0) rows.push(el("tr", {}, el("td", { colspan: 10, class: "empty" }, "no instances")))
    this.fleetTable.replaceChildren(...rows)
  }

  async refreshChart(clientId) {
    const now = Date.now()
    const path = `/api/${encodeURIComponent(this.tenant)}/forecasts/${encodeURIComponent(clientId)}?from=${now - chartPastMs}&to=${now + chartAheadMs}`
    let forecast
    try {
      forecast = await api(this.token, path)
    } catch (error) {
      if (error instanceof Unauthorized) throw error
      return // a client with no forecast row yet: no chart until it has one
    }
    const metrics = forecast.window?.metrics ?? []
    this.waiting(clientId, metrics.length === 0)
    for (const metric of metrics) this.renderChart(clientId, metric, forecast.metrics.find((m) => m.metric === metric.metric))
  }

  /** Demand is charted against forecasts: a client the forecaster has not spoken for yet says so. */
  waiting(clientId, waiting) {
    const key = `${clientId}/`
    const box = this.charts.get(key)
    if (waiting && box === undefined) {
      const note = el("div", { class: "chart pending", "data-client": clientId }, el("h4", {}, clientId), el("div", { class: "note" }, "no forecast yet: the first comes with a complete 5-minute bucket of demand"))
      this.chartsBox.append(note)
      this.charts.set(key, note)
    } else if (!waiting && box !== undefined) {
      box.remove()
      this.charts.delete(key)
    }
  }

  /** Demand (each 5-minute bucket's peak) against the forecast for that time and its upper bound, which shadows are provisioned to. */
  renderChart(clientId, window, latest) {
    const key = `${clientId}/${window.metric}`
    const predicted = new Map()
    for (const point of window.forecast) {
      const seen = predicted.get(point.at)
      if (seen === undefined || point.minutes < seen.minutes) predicted.set(point.at, point)
    }
    const demand = new Map(window.demand.map((bucket) => [bucket.at, bucket.max]))
    const times = [...new Set([...demand.keys(), ...predicted.keys()])].sort((a, b) => a - b)
    const data = [
      times.map((t) => t / 1000),
      times.map((t) => demand.get(t) ?? null),
      times.map((t) => predicted.get(t)?.predicted ?? null),
      times.map((t) => predicted.get(t)?.upper ?? null)
    ]
    let chart = this.charts.get(key)
    if (chart === undefined) {
      const plotBox = el("div", { class: "plot" })
      const note = el("div", { class: "note" })
      const box = el("div", { class: "chart", "data-client": clientId, "data-metric": window.metric }, el("h4", {}, `${clientId} · ${window.metric}`), plotBox, note)
      this.chartsBox.append(box)
      const plot = new uPlot(
        {
          width: 420,
          height: 200,
          series: [
            {},
            { label: "demand (5-min peak)", stroke: "#222", width: 2, spanGaps: true },
            { label: "forecast", stroke: "#37c", dash: [6, 4], spanGaps: true },
            { label: "upper bound (provisioned)", stroke: "#c63", fill: "rgba(204,102,51,0.08)", spanGaps: true }
          ],
          axes: [{}, { size: 60 }]
        },
        data,
        plotBox
      )
      chart = { box, plot, note }
      this.charts.set(key, chart)
    } else {
      chart.plot.setData(data)
    }
    chart.box.dataset.points = String(times.length)
    chart.note.textContent = latest
      ? `${latest.fallback ? `fallback (${latest.reason})` : latest.model}, made ${ago(latest.at)}; ${window.demand.length} demand buckets, ${predicted.size} forecast points`
      : "no forecast yet"
  }

  renderLaunches(launches) {
    const boxes = launches
      .slice()
      .reverse()
      .map((launch) =>
        el(
          "div",
          { class: "launch", "data-launch": launch.launchId, "data-client": launch.clientId, "data-outcome": launch.outcome, "data-stage": launch.stage },
          el(
            "h4",
            {},
            `${launch.launchId} · client ${launch.clientId} · `,
            el("span", { class: `outcome-${launch.outcome}` }, launch.outcome),
            ` · weight ${launch.weight} % · priority ${launch.priority}`
          ),
          launch.transfer ? el("div", {}, `state transferred: ${launch.transfer.files} files, ${bytes(launch.transfer.bytes)} in ${launch.transfer.ms} ms`) : null,
          launch.rollback ? el("div", { class: "outcome-rolledBack" }, `gate tripped at ${launch.rollback.stage}: ${launch.rollback.reason}`) : null,
          el(
            "ol",
            { class: "stages" },
            launch.stages.map((stage) =>
              el(
                "li",
                { class: stage.stage.startsWith("weight-") ? "weight" : stage.stage, "data-stage": stage.stage },
                stage.stage.startsWith("weight-") ? `${stage.stage.slice(7)} %` : stage.stage,
                stage.passed ? el("small", { class: "passed" }, passedText(stage.passed)) : null,
                el("small", {}, `+${(stage.sincePreviousMs / 1000).toFixed(1)} s`)
              )
            )
          )
        )
      )
    this.launchesBox.replaceChildren(...(boxes.length > 0 ? boxes : [el("p", { class: "empty" }, "no launches")]))
  }

  /** A heartbeat is an observation, not an event: it moves its row's last beat at once, and the latency with the next read. */
  heartbeat(beat) {
    this.heartbeats.set(beat.instanceId, beat)
    const cell = this.fleetTable.querySelector(`tr[data-instance="${CSS.escape(beat.instanceId)}"] td.heartbeat`)
    if (cell !== null) {
      cell.dataset.at = beat.at
      cell.textContent = ago(beat.at)
    }
  }

  setLive(live, label) {
    this.root.dataset.live = String(live)
    this.liveLabel.textContent = label
  }

  /** Server-sent events over fetch (EventSource cannot send a bearer token), resumed from the last id after a break. */
  async follow() {
    let lastId
    for (;;) {
      try {
        const headers = { authorization: `Bearer ${this.token}`, accept: "text/event-stream" }
        if (lastId !== undefined) headers["last-event-id"] = lastId
        const response = await fetch(`/api/${encodeURIComponent(this.tenant)}/events`, { headers, cache: "no-store" })
        if (response.status === 401 || response.status === 403) return this.setLive(false, `not allowed (${response.status})`)
        if (!response.ok || response.body === null) throw new Error(`events: ${response.status}`)
        this.setLive(true, "live")
        this.soon()
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
        let buffer = ""
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          buffer += value
          let end
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const message = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            const fields = { event: "message", data: "" }
            for (const line of message.split("\n")) {
              const colon = line.indexOf(":")
              if (colon <= 0) continue
              const name = line.slice(0, colon)
              const text = line.slice(colon + 1).replace(/^ /, "")
              if (name === "data") fields.data += text
              else fields[name] = text
            }
            if (fields.id !== undefined) lastId = fields.id
            if (fields.event === "umbra") this.soon()
            else if (fields.event === "heartbeat") this.heartbeat(JSON.parse(fields.data))
          }
        }
      } catch (error) {
        console.error(error)
      }
      this.setLive(false, "reconnecting…")
      await new Promise((resume) => setTimeout(resume, 2000))
    }
  }
}

const signIn = (message) => {
  document.getElementById("sign-in").hidden = false
  document.getElementById("sign-in-error").textContent = message ?? ""
}

const open = async () => {
  const token = takeToken()
  if (!token) return signIn()
  let tenants
  try {
    tenants = (await api(token, "/api/tenants")).tenants
  } catch (error) {
    sessionStorage.removeItem(tokenKey)
    return signIn(error.message)
  }
  document.getElementById("viewer").textContent = token.startsWith("operator.") ? "operator: every tenant" : `tenant ${tenants[0]}`
  document.getElementById("sign-out").hidden = false
  const main = document.getElementById("tenants")
  if (tenants.length === 0) main.append(el("p", { class: "empty" }, "no tenant has events yet"))
  for (const tenant of tenants) {
    const view = new TenantView(token, tenant)
    main.append(view.root)
    view.start().catch((error) => view.setLive(false, error.message))
  }
  // Ages are relative to now: kept current between events.
  setInterval(() => {
    for (const cell of document.querySelectorAll("td.heartbeat[data-at]")) if (cell.dataset.at) cell.textContent = ago(cell.dataset.at)
  }, 1000)
}

document.getElementById("sign-in").addEventListener("submit", (event) => {
  event.preventDefault()
  sessionStorage.setItem(tokenKey, document.getElementById("token").value.trim())
  location.reload()
})
document.getElementById("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(tokenKey)
  location.reload()
})
open()
