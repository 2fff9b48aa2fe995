/**
 * The page of the log read last, handed to the next reader after the same position while nothing was
 * committed since (`version` unchanged): the subscribers of one process (the relay, every projection) wake
 * on the same commit at the same position, and each read and decoded the same rows. An empty page is never
 * kept, so a reader waiting for news always reads again. A kept page is a prefix of what a read would find
 * now (positions only grow); retention may have removed some of its events since, as if read a moment earlier.
 */
export const sharedPage = <V, A>(read: (after: number, limit: number) => ReadonlyArray<A>, version: () => V) => {
  let kept: { readonly after: number; readonly limit: number; readonly version: V; readonly page: ReadonlyArray<A> } | undefined
  return (after: number, limit: number): ReadonlyArray<A> => {
    const now = version()
    // Each reader gets its own array (a stream may own the chunks it is given); the events are shared.
    if (kept !== undefined && kept.after === after && kept.limit === limit && kept.version === now) return kept.page.slice()
    const page = read(after, limit)
    kept = page.length > 0 ? { after, limit, version: now, page } : undefined
    return page.slice()
  }
}
