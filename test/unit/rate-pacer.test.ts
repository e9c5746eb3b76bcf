import {describe, expect, it} from 'vitest'

import {RatePacer, resetAt} from '../../src/api/rate-pacer.js'
import {PortalError} from '../../src/portal/http/errors.js'
import {parseRateLimit, RateLimiter} from '../../src/portal/http/rate-limit.js'

/**
 * The client's pacer against the portal's limiter, on a fake clock: concurrent requests share one
 * window, wait for its reset together, and are (almost) never refused, whichever way the reset is told.
 */
async function simulate(reset: 'epoch' | 'seconds', requests: number, concurrency: number) {
  let now = 1_700_000_000_000
  const limiter = new RateLimiter(parseRateLimit('20/2s', reset))
  const waits: number[] = []
  const pacer = new RatePacer({
    clock: () => new Date(now),
    onWait: (ms) => waits.push(ms),
    sleep: async (ms) => {
      // Requests already sent finish first, as they would while a real client sleeps.
      await new Promise((resolve) => setImmediate(resolve))
      now += ms
    },
  })
  let refused = 0
  let next = 0
  const worker = async () => {
    while (next < requests) {
      next++
      for (;;) {
        await pacer.acquire()
        const headers: Record<string, string> = {}
        try {
          await limiter.take('client', now, (name, value) => (headers[name] = value))
          now += 5 // the request takes 5 ms
          pacer.release(headers)
          break
        } catch (error) {
          if (!(error instanceof PortalError)) throw error
          refused++
          pacer.release(headers)
          now += Number(headers['retry-after']) * 1000
        }
      }
    }
  }
  const started = now
  await Promise.all(Array.from({length: concurrency}, worker))
  return {refused, seconds: (now - started) / 1000, waits}
}

describe('pacing by x-ratelimit-* headers', () => {
  it.each(['epoch', 'seconds'] as const)('spends each window once, reset told as %s', async (reset) => {
    const {refused, seconds, waits} = await simulate(reset, 200, 8)
    expect(refused).toBe(0)
    // 200 requests at 20 per 2 s: ten windows, the last one opened at 18 s.
    expect(seconds).toBeGreaterThanOrEqual(18)
    expect(seconds).toBeLessThanOrEqual(200 / 10 + 1)
    expect(waits.length).toBe(9)
  })

  it('reads x-ratelimit-reset both ways Port clients do', () => {
    const now = 1_700_000_000_000
    expect(resetAt({'x-ratelimit-reset': '1700000030'}, now)).toBe(1_700_000_030_000)
    expect(resetAt({'x-ratelimit-reset': '30'}, now)).toBe(now + 30_000)
    expect(resetAt({}, now)).toBeUndefined()
  })

  it('never waits without the headers', async () => {
    const pacer = new RatePacer({sleep: () => Promise.reject(new Error('should not wait'))})
    for (let index = 0; index < 100; index++) {
      await pacer.acquire()
      pacer.release({})
    }
  })

  it('parses --rate-limit and refuses nonsense', () => {
    expect(parseRateLimit('15000/5m')).toEqual({limit: 15_000, periodSeconds: 300, reset: 'epoch'})
    expect(parseRateLimit('10/1h', 'seconds')).toEqual({limit: 10, periodSeconds: 3600, reset: 'seconds'})
    for (const bad of ['', '0/5m', '10', '10/0s', 'x/5m', '10/5d']) expect(() => parseRateLimit(bad)).toThrow()
  })
})
