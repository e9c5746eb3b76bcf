const UNITS: [string, number][] = [
  ['y', 365 * 86_400_000],
  ['mo', 30 * 86_400_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
]

const WORDS: Record<string, [string, string]> = {
  d: ['day', 'days'],
  h: ['hour', 'hours'],
  m: ['minute', 'minutes'],
  mo: ['month', 'months'],
  s: ['second', 'seconds'],
  y: ['year', 'years'],
}

/**
 * A time as people read it on a terminal, relative to now: "2m ago", "in 5 days", "just now".
 * Past times are short (as in gh); future ones spell the unit out (a TTL, an expiry).
 */
export function relativeTime(iso: string, now: Date): string {
  const at = Date.parse(iso)
  if (Number.isNaN(at)) return iso
  const delta = at - now.getTime()
  const size = Math.abs(delta)
  if (size < 45_000) return delta > 0 ? 'in a moment' : 'just now'
  const [unit, ms] = UNITS.find(([, length]) => size >= length)!
  const count = Math.round(size / ms)
  if (delta < 0) return `${count}${unit} ago`
  const [one, many] = WORDS[unit]!
  return `in ${count} ${count === 1 ? one : many}`
}

/** ISO date-times (2026-11-30T17:00:00Z and the like), which tables show relative on a terminal. */
export const isIsoTime = (value: unknown): value is string =>
  typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value) && !Number.isNaN(Date.parse(value))
