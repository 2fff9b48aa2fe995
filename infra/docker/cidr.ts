/** An IPv4 network: its base address as an unsigned 32-bit number and its prefix length. */
export interface Cidr {
  readonly base: number
  readonly prefix: number
}

const addressPattern = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

export const parseAddress = (text: string): number | undefined => {
  // An IPv4 address a dual-stack socket reports as IPv6.
  const match = addressPattern.exec(text.startsWith("::ffff:") ? text.slice(7) : text)
  if (match === null) return undefined
  const octets = match.slice(1).map(Number)
  if (octets.some((octet) => octet > 255)) return undefined
  return ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0
}

export const formatAddress = (address: number) => `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`

const maskOf = (prefix: number) => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0)

/** `a.b.c.d/n`, its base masked to the prefix; undefined for anything else. */
export const parseCidr = (text: string): Cidr | undefined => {
  const [address, length, ...rest] = text.split("/")
  const prefix = Number(length)
  const base = address === undefined ? undefined : parseAddress(address)
  if (rest.length > 0 || base === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined
  return { base: (base & maskOf(prefix)) >>> 0, prefix }
}

export const addressIn = (cidr: Cidr, address: number) => ((address & maskOf(cidr.prefix)) >>> 0) === cidr.base

/** Whether `inner` lies wholly inside `outer`. */
export const cidrContains = (outer: Cidr, inner: Cidr) => inner.prefix >= outer.prefix && addressIn(outer, inner.base)
