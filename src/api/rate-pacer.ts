import {systemClock, type Clock} from '../shared/when.js'

type Headers = Record<string, string | string[] | undefined>

const header = (headers: Headers, name: string): number | undefined => {
  const raw = headers[name]
  const value = Number(Array.isArray(raw) ? raw[0] : raw)
  return raw === undefined || Number.isNaN(value) ? undefined : value
}

/**
 * `x-ratelimit-reset` as an epoch time in ms. Port's docs call it epoch seconds; its Terraform
 * provider reads seconds until the reset. Both are taken: a value too large to be a wait in
 * seconds (over a year) is an epoch time.
 */
export function resetAt(headers: Headers, now: number): number | undefined {
  const reset = header(headers, 'x-ratelimit-reset')
  if (reset === undefined) return undefined
  return reset > 365 * 86_400 ? reset * 1000 : now + reset * 1000
}

export interface PacerOptions {
  clock?: Clock
  sleep?: (ms: number) => Promise<void>
  /** Called once per wait for a window, with how long it will be. */
  onWait?: ((ms: number) => void) | undefined
}

/**
 * Paces one client's requests by Port's `x-ratelimit-*` headers instead of reacting to 429s:
 * every request takes a slot of the current window before it is sent; when none is left, all of
 * them wait together for the reset. Shared by concurrent requests, so a bulk sync with several
 * connections spends the window exactly once. Without those headers it never waits.
 */
export class RatePacer {
  private remaining: number | undefined
  private windowEnds = 0
  private limit: number | undefined
  private periodMs: number | undefined
  private inFlight = 0
  private waiting: Promise<void> | undefined
  private readonly clock: Clock
  private readonly sleep: (ms: number) => Promise<void>

  constructor(private readonly options: PacerOptions = {}) {
    this.clock = options.clock ?? systemClock
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)))
  }

  /** Waits until the current window has room for one more request, and takes it. */
  async acquire(): Promise<void> {
    for (;;) {
      const now = this.clock().getTime()
      if (this.remaining !== undefined && now >= this.windowEnds) this.nextWindow(now)
      if (this.remaining === undefined || this.remaining > 0) {
        if (this.remaining !== undefined) this.remaining--
        this.inFlight++
        return
      }
      if (!this.waiting) {
        const ms = this.windowEnds - now
        this.options.onWait?.(ms)
        // A little past the reset, so the server's window has surely turned.
        this.waiting = this.sleep(ms + 50).finally(() => (this.waiting = undefined))
      }
      await this.waiting
    }
  }

  /** Learns the window from an answer's headers (429s included). */
  release(headers: Headers): void {
    this.inFlight--
    const now = this.clock().getTime()
    const remaining = header(headers, 'x-ratelimit-remaining')
    const ends = resetAt(headers, now)
    const limit = header(headers, 'x-ratelimit-limit')
    const period = header(headers, 'x-ratelimit-period')
    if (limit !== undefined) this.limit = limit
    if (period !== undefined) this.periodMs = period * 1000
    if (remaining === undefined || ends === undefined) return
    // Resets are whole seconds, so the same window may be told a second apart.
    if (ends < this.windowEnds - 1500) return // an answer from a window already over
    const sameWindow = this.remaining !== undefined && Math.abs(ends - this.windowEnds) <= 1500
    // A reset in whole seconds is rounded up: each answer bounds the end from above, and the
    // smallest bound is the closest (answers come at different fractions of a second).
    this.windowEnds = sameWindow ? Math.min(this.windowEnds, ends) : ends
    // Requests still in flight have taken their slots here, but the server has not counted them yet.
    const left = Math.max(0, remaining - this.inFlight)
    this.remaining = sameWindow ? Math.min(this.remaining!, left) : left
  }

  /** A new window began: its full limit, if known; otherwise the next answer tells. */
  private nextWindow(now: number): void {
    if (this.limit === undefined) {
      this.remaining = undefined
      return
    }
    this.remaining = this.limit
    this.windowEnds = this.periodMs ? now + this.periodMs : now + 1000
  }
}
