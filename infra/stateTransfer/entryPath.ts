/**
 * An archive entry's name as a path relative to its state path: `./sub/a.txt` and `sub/a.txt/` both give
 * `sub/a.txt`, and the root (`./`, `.`) gives `""`. An absolute name or one with a `..` segment gives
 * `undefined`: it could land outside the state path, whatever the directories on the way turn out to be.
 */
export const relativeEntryPath = (name: string): string | undefined => {
  if (name.startsWith("/")) return undefined
  const segments = name.split("/").filter((segment) => segment !== "" && segment !== ".")
  return segments.includes("..") ? undefined : segments.join("/")
}
