import { Effect, Schema } from "effect"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import type { HttpResponse, Route } from "../http/router.ts"

export class DashboardAssetsMissing extends Schema.TaggedError<DashboardAssetsMissing>()("DashboardAssetsMissing", {
  message: Schema.String
}) {}

const assetsDir = join(import.meta.dirname, "assets")
// uPlot from node_modules, as npm installed it: nothing is fetched from elsewhere when the page loads.
const uplotDir = () => join(dirname(createRequire(import.meta.url).resolve("uplot")), "..", "dist")

/**
 * The page may run its own scripts and styles and talk to this server only; uPlot sets inline styles on
 * its elements, hence `'unsafe-inline'` for styles alone. It may not be framed.
 */
const pageHeaders = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache"
}

const types = { html: "text/html; charset=utf-8", js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8" } as const

/** Where each file is served from, and where it is read. */
const files = (): ReadonlyArray<{ readonly path: string; readonly file: string; readonly type: keyof typeof types }> => [
  { path: "/", file: join(assetsDir, "index.html"), type: "html" },
  { path: "/dashboard.js", file: join(assetsDir, "dashboard.js"), type: "js" },
  { path: "/dashboard.css", file: join(assetsDir, "dashboard.css"), type: "css" },
  { path: "/vendor/uPlot.iife.min.js", file: join(uplotDir(), "uPlot.iife.min.js"), type: "js" },
  { path: "/vendor/uPlot.min.css", file: join(uplotDir(), "uPlot.min.css"), type: "css" }
]

/** The dashboard's page, script, style and uPlot, read once when the server starts (no build step: served as they are). */
export const assetRoutes = Effect.try({
  try: () =>
    files().map(({ path, file, type }): Route => {
      const response: HttpResponse = { status: 200, headers: { ...pageHeaders, "content-type": types[type] }, body: readFileSync(file, "utf8") }
      return { path, handle: () => Effect.succeed(response) }
    }),
  catch: (error) => new DashboardAssetsMissing({ message: `the dashboard's files: ${error instanceof Error ? error.message : String(error)}` })
})
