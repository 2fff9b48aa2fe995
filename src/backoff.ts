import { Schedule } from "effect"

/** For loops that must outlive outages: retry forever, 100 ms doubling up to 5 s between tries. */
export const untilItWorks = Schedule.min([Schedule.exponential("100 millis"), Schedule.spaced("5 seconds")])
