import { Cause, Effect, Exit, Layer, Scope, Stream } from "effect"
import { BusError, type UmbraError } from "./clientErrors.ts"

/** Effects and streams run as Promises and async iterables on services built once, released by `close`. */
export interface ClientRuntime<R> {
  /** Runs `effect`; a failure rejects with its error (an UmbraError). */
  readonly run: <A>(effect: Effect.Effect<A, UmbraError, R>) => Promise<A>
  /** The stream as an async iterable; its iterators end when the runtime closes. */
  readonly iterate: <A>(stream: Stream.Stream<A, UmbraError, R>) => AsyncIterable<A>
  /** Ends every open iterator, then releases the services (the NATS connection drains). */
  readonly close: () => Promise<void>
}

const closedError = () => new BusError("Closed", "the client is closed")

/** An exit's value, or its error thrown. */
export const settle = <A>(exit: Exit.Exit<A, UmbraError>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}

/** Builds `layer` (rejecting with its error as `failed` says it) and runs what the client asks on it until closed. */
export const startClientRuntime = async <R, E>(layer: Layer.Layer<R, E>, failed: (error: E) => UmbraError): Promise<ClientRuntime<R>> => {
  const scope = Scope.makeUnsafe()
  const built = await Effect.runPromiseExit(Layer.buildWithScope(layer, scope).pipe(Effect.mapError(failed)))
  if (Exit.isFailure(built)) await Effect.runPromise(Scope.close(scope, built))
  const context = settle(built)
  const open = new Set<AsyncIterator<unknown>>()
  let closed = false

  const iterate = <A>(stream: Stream.Stream<A, UmbraError, R>): AsyncIterable<A> => ({
    [Symbol.asyncIterator]: () => {
      if (closed) throw closedError()
      const iterator = Stream.toAsyncIterableWith(stream, context)[Symbol.asyncIterator]()
      open.add(iterator)
      const forget = () => open.delete(iterator)
      return {
        next: () =>
          iterator.next().then(
            (result) => {
              if (result.done === true) forget()
              return result
            },
            (error: unknown) => {
              forget()
              throw error
            }
          ),
        return: () => {
          forget()
          return iterator.return!()
        }
      }
    }
  })

  return {
    run: (effect) => (closed ? Promise.reject(closedError()) : Effect.runPromiseExitWith(context)(effect).then(settle)),
    iterate,
    close: async () => {
      if (closed) return
      closed = true
      await Promise.all([...open].map((iterator) => iterator.return?.()))
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}
