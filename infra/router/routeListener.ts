import { createServer, type RequestListener, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import { RouterFailed } from "../../src/trafficRouter.ts"

/** Listens on 127.0.0.1 only: the router is no edge server; whatever exposes a route stands in front of it. */
export const listen = (key: string, port: number, handler: RequestListener): Effect.Effect<Server, RouterFailed> =>
  Effect.callback<Server, RouterFailed>((resume) => {
    const server = createServer(handler)
    const refused = (error: NodeJS.ErrnoException) =>
      resume(Effect.fail(
        error.code === "EADDRINUSE"
          ? new RouterFailed({ key, message: `port ${port} on 127.0.0.1 is already in use`, portInUse: true })
          : new RouterFailed({ key, message: `cannot listen on 127.0.0.1:${port}: ${error.message}` })
      ))
    server.once("error", refused)
    server.listen(port, "127.0.0.1", () => {
      server.off("error", refused)
      resume(Effect.succeed(server))
    })
  })

export const portOf = (server: Server): number => (server.address() as AddressInfo).port

/**
 * Stops accepting connections (the port is free again at once, idle keep-alive connections close) and
 * resolves once every connection has ended.
 */
export const stopAccepting = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()))
