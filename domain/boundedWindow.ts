/** `values` with `value` added last, keeping the newest `size`: one new array, however full the window. */
export const appendBounded = <A>(values: ReadonlyArray<A>, value: A, size: number): ReadonlyArray<A> => {
  const next = values.slice(Math.max(0, values.length - size + 1))
  next.push(value)
  return next
}
