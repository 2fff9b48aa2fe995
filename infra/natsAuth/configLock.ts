import { open, readFile, rm } from "node:fs/promises"
import { Effect, Schedule } from "effect"
import { NatsAuthError } from "./authDirectory.ts"

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (cause) {
    return (cause as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Takes the lock file, or removes it when the process that took it is gone (and says it is still to take). */
const take = (path: string) =>
  Effect.tryPromise({
    try: async () => {
      try {
        const file = await open(path, "wx", 0o600)
        await file.writeFile(String(process.pid))
        await file.close()
        return true
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code !== "EEXIST") throw cause
        const holder = Number(await readFile(path, "utf8").catch(() => ""))
        if (Number.isInteger(holder) && holder > 0 && !alive(holder)) await rm(path, { force: true })
        return false
      }
    },
    catch: (cause) => new NatsAuthError({ message: `cannot lock ${path}: ${String(cause)}` })
  })

/**
 * Runs `effect` holding `path` against other processes: `umbra serve` (instances) and `umbra tenant`
 * (tenants) both rewrite the server's config, and one must not overwrite the other's change.
 */
export const withConfigLock = <A, E, R>(path: string, effect: Effect.Effect<A, E, R>) =>
  take(path).pipe(
    Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (taken) => taken, times: 1_000 }),
    Effect.flatMap((taken) => (taken ? Effect.void : Effect.fail(new NatsAuthError({ message: `${path} stayed locked for 20 s` })))),
    Effect.andThen(effect.pipe(Effect.ensuring(Effect.promise(() => rm(path, { force: true })))))
  )
