const UNITS: Record<string, number> = {
  d: 86_400_000,
  day: 86_400_000,
  h: 3_600_000,
  hour: 3_600_000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  ms: 1,
  millisecond: 1,
  month: 30 * 86_400_000,
  s: 1000,
  sec: 1000,
  second: 1000,
  w: 7 * 86_400_000,
  week: 7 * 86_400_000,
}

/**
 * A point in time from what people type: an ISO date or date-time, `now`, `tomorrow`, or a
 * duration from now such as `5d`, `5 days`, `in 2 weeks`, `+36h`, `1h30m`. Undefined when it is
 * none of these.
 */
export function parseWhen(text: string, now: Date): Date | undefined {
  const value = text.trim().toLowerCase()
  if (value === 'now') return new Date(now)
  if (value === 'tomorrow') return new Date(now.getTime() + UNITS.d!)
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const date = new Date(text.trim())
    return Number.isNaN(date.getTime()) ? undefined : date
  }
  const duration = parseDuration(value.replace(/^(in|\+)\s*/, ''))
  return duration === undefined ? undefined : new Date(now.getTime() + duration)
}

/** Milliseconds in `5d`, `2 weeks`, `1h30m`, `90s`, `1.5h`. */
export function parseDuration(text: string): number | undefined {
  const value = text.trim().toLowerCase()
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)\s*,?\s*(?:and\s*)?/g)]
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== value.replaceAll(/\s+$/g, '')) return undefined
  let total = 0
  for (const [, amount, unit] of parts) {
    const size = UNITS[unit!] ?? UNITS[unit!.replace(/s$/, '')]
    if (size === undefined) return undefined
    total += Number(amount) * size
  }
  return total
}

/** What tells the time, wherever time is read: tests pass one they can move instead of sleeping. */
export type Clock = () => Date
export const systemClock: Clock = () => new Date()
