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
let answer: string | undefined
beforeAll(async () => {
  engine = createServer((_, res) => {
    res.writeHead(status, { "content-type": "application/json" })
    res.end(JSON.stringify({ message: answer ?? (status === 404 ? "No such container: x" : "the engine failed") }))
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

  it("tells the tenant only of an image it named that the engine lacks, never the engine's other messages", async () => {
    const told = async (code: number, message: string) => {
      status = code
      answer = message
      try {
        return (await inspectFailure(join(dir, "engine.sock"))).tenantMessage
      } finally {
        answer = undefined
      }
    }
    expect(await told(404, "No such image: acme/app:2")).toBe("no such image: acme/app:2")
    expect(await told(404, "No such container: x")).toBeUndefined()
    expect(await told(500, "No such image: acme/app:2")).toBeUndefined()
    expect(await told(400, "bind source path does not exist: /var/lib/umbra/credentials/acme/shd-1")).toBeUndefined()
    // An engine answer that only starts like one does not carry the rest along.
    expect(await told(404, "No such image: acme/app:2 (mounted from /var/lib/umbra)")).toBeUndefined()
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
