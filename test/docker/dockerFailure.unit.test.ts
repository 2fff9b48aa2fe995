import Docker from "dockerode"
import { createServer, type Server } from "node:http"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { failure } from "../../infra/docker/dockerFailure.ts"
import { isOutage } from "../../src/deadLetters.ts"

const dir = mkdtempSync(join(tmpdir(), "umbra-docker-failure-"))
/** An "engine" on a socket of its own that answers every request with `status`. */
let engine: Server
let status = 404
beforeAll(async () => {
  engine = createServer((_, res) => {
    res.writeHead(status, { "content-type": "application/json" })
    res.end(JSON.stringify({ message: status === 404 ? "No such container: x" : "the engine failed" }))
  })
  await new Promise<void>((resolve) => engine.listen(join(dir, "engine.sock"), resolve))
})
afterAll(async () => {
  await new Promise((resolve) => engine.close(resolve))
  rmSync(dir, { recursive: true, force: true })
})

/** What dockerode rejects an inspect with, on the socket at `socketPath`, as the runtime's error. */
const inspectFailure = (socketPath: string) =>
  new Docker({ socketPath }).getContainer("x").inspect().then(
    () => expect.fail("the inspect succeeded"),
    (cause: unknown) => failure("shd-1", "inspect")(cause)
  )

describe("a Docker failure as the runtime's error", () => {
  it("is an outage to wait out when the engine's socket is missing or refuses", async () => {
    for (const socketPath of [join(dir, "none.sock"), dir]) {
      const error = await inspectFailure(socketPath)
      expect(error).toMatchObject({ _tag: "RuntimeFailed", instanceId: "shd-1", engineUnavailable: true })
      expect(isOutage(error)).toBe(true)
    }
  })

  it("is not one when the engine answers, whatever it says", async () => {
    for (status of [404, 500]) {
      const error = await inspectFailure(join(dir, "engine.sock"))
      expect(error).toMatchObject({ _tag: "RuntimeFailed", engineUnavailable: false })
      expect(error.message).toMatch(status === 404 ? /No such container/ : /the engine failed/)
      expect(isOutage(error)).toBe(false)
    }
  })
})
