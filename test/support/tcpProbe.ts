import { Effect } from "effect"
import { connect } from "node:net"

/** Whether a TCP connection to the loopback port is accepted (an endpoint still listening). */
export const accepts = (port: number) =>
  Effect.callback<boolean>((resume) => {
    const socket = connect({ host: "127.0.0.1", port })
    socket.setTimeout(2_000)
    const end = (ok: boolean) => {
      socket.destroy()
      resume(Effect.succeed(ok))
    }
    socket.once("connect", () => end(true))
    socket.once("error", () => end(false))
    socket.once("timeout", () => end(false))
  })
