import { Deferred, Effect } from "effect"
import { spawn } from "node:child_process"

/**
 * Runs a test's writer script in another OS process: `ready` completes once it prints "ready" (its store is
 * open), it starts when `go` completes, and the result is the JSON it prints last.
 */
export const spawnWriter = <A>(script: string, args: ReadonlyArray<string>, ready: Deferred.Deferred<void>, go: Deferred.Deferred<void>) =>
  Effect.callback<A, Error>((resume) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ["pipe", "pipe", "pipe"] })
    let out = ""
    let err = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk
      if (out.startsWith("ready\n")) Deferred.doneUnsafe(ready, Effect.void)
    })
    Effect.runFork(Deferred.await(go).pipe(Effect.andThen(Effect.sync(() => child.stdin.end("go\n")))))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk))
    child.on("close", (code) =>
      code === 0 ? resume(Effect.succeed(JSON.parse(out.slice("ready\n".length)) as A)) : resume(Effect.fail(new Error(`writer exited with ${code}: ${err}`)))
    )
    return Effect.sync(() => child.kill())
  })
