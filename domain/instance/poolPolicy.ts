/** How many recycled shadows are kept per tenant, image and tier for the next matching client. */
export interface PoolPolicy {
  readonly size: number
}

export const defaultPoolPolicy: PoolPolicy = { size: 2 }

/** A released shadow goes to the pool while it has room; otherwise it is terminated. */
export const shouldRecycle = (policy: PoolPolicy, pooled: number): boolean => pooled < policy.size
