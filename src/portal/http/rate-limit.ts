import type {SharedState} from '../store/store.js'
import {PortalError} from './errors.js'

export interface RateLimit {
  /** Requests allowed per window, for each caller. */
  limit: number
  periodSeconds: number
  /** How `x-ratelimit-reset` is told: epoch seconds (Port's docs) or seconds until the reset. */
  reset: 'epoch' | 'seconds'
}

const UNITS: Record<string, number> = {'': 1, h: 3600, m: 60, min: 60, s: 1}

/** `600/60s`, `15000/5m`, `100/10` (seconds): requests per window. */
export function parseRateLimit(text: string, reset: RateLimit['reset'] = 'epoch'): RateLimit {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*(s|m|min|h)?\s*$/.exec(text)
  const limit = Number(match?.[1])
  const periodSeconds = Number(match?.[2]) * UNITS[match?.[3] ?? '']!
  if (!match || limit < 1 || periodSeconds < 1)
    throw new Error(`expected REQUESTS/PERIOD, such as 600/60s or 15000/5m; got "${text}"`)
  return {limit, periodSeconds, reset}
}

/** Counts a caller's requests per window: in memory here, in the store when processes share one. */
export type RequestCounter = Pick<SharedState, 'countRequest'>

/**
 * Port's rate limits, emulated (`portal serve --rate-limit`): fixed windows per caller (each
 * credential, and each address for unauthenticated requests), aligned to the clock, so that a
 * reset told in whole seconds is exact, and the same in every process that counts in one store.
 * Every answer tells the window in `x-ratelimit-*` headers; a request over the limit is 429 with
 * `Retry-After`.
 */
export class RateLimiter {
  constructor(
    private readonly rule: RateLimit,
    private readonly counter: RequestCounter = new MemoryCounter(),
  ) {}

  /** Counts one request of `caller`; throws 429 when its window is spent. Headers go on the answer. */
  async take(caller: string, now: number, setHeader: (name: string, value: string) => void): Promise<void> {
    const period = this.rule.periodSeconds * 1000
    const ends = (Math.floor(now / period) + 1) * period
    const used = await this.counter.countRequest(caller, ends, now)
    const secondsLeft = Math.ceil((ends - now) / 1000)
    setHeader('x-ratelimit-limit', String(this.rule.limit))
    setHeader('x-ratelimit-period', String(this.rule.periodSeconds))
    setHeader('x-ratelimit-remaining', String(Math.max(0, this.rule.limit - used)))
    setHeader('x-ratelimit-reset', String(this.rule.reset === 'epoch' ? Math.ceil(ends / 1000) : secondsLeft))
    if (used > this.rule.limit) {
      setHeader('retry-after', String(secondsLeft))
      throw new PortalError(
        429,
        'rate_limit_exceeded',
        `Too many requests: ${this.rule.limit} per ${this.rule.periodSeconds}s; retry in ${secondsLeft}s`,
      )
    }
  }
}

/** One process's counts: each caller's current window. */
class MemoryCounter implements RequestCounter {
  private readonly windows = new Map<string, {ends: number; used: number}>()

  async countRequest(caller: string, ends: number, now: number): Promise<number> {
    let window = this.windows.get(caller)
    if (window?.ends !== ends) {
      if (this.windows.size > 10_000) this.forgetEnded(now)
      window = {ends, used: 0}
      this.windows.set(caller, window)
    }
    return ++window.used
  }

  private forgetEnded(now: number): void {
    for (const [caller, window] of this.windows) if (now >= window.ends) this.windows.delete(caller)
  }
}
