/** The value of the sample `name{labels}` (labels as exposed, in order) in a Prometheus exposition, or undefined when there is none. */
export const sampleOf = (text: string, name: string, labels = "") => {
  const prefix = labels === "" ? `${name} ` : `${name}{${labels}} `
  const line = text.split("\n").find((l) => l.startsWith(prefix))
  return line === undefined ? undefined : Number(line.slice(prefix.length))
}
