import {StoreUnavailableError} from '../store/store.js'
import type {StoreOutage} from './store-outage.js'

/** Retries while the store cannot be reached wait this long, doubling up to BACKOFF_MAX_MS. */
const BACKOFF_MIN_MS = 500
const BACKOFF_MAX_MS = 30_000

export interface SerialWorkOptions {
  onError: (error: unknown) => void
  /** Told when a pass finds the store unreachable, and of every pass that succeeds. */
  outage?: StoreOutage | undefined
  /**
   * A pass runs at least this often while nothing else wakes it: work that other processes
   * sharing the store left (a lease that lapsed, a row queued there) is found within this.
   */
  idleMs?: number | undefined
}

/**
 * Background work that runs one pass at a time: a kick while a pass runs asks for exactly one more
 * pass after it (never a pile of them), and stop waits for the pass in progress. A pass can ask
 * for the next one `later`; one that finds the store unreachable is retried with capped
 * exponential backoff instead of failing for good or spinning. The dispatcher, the timer
 * scheduler and the automation worker each drive their work through one.
 */
export class SerialWork {
  private running: Promise<void> = Promise.resolve()
  private queued = false
  private halted = false
  private timer: NodeJS.Timeout | undefined
  private wakeAt = Number.POSITIVE_INFINITY
  private failures = 0

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly options: SerialWorkOptions,
  ) {}

  get stopped(): boolean {
    return this.halted
  }

  kick(): void {
    if (this.halted || this.queued) return
    this.queued = true
    this.running = this.running.then(() => this.runPass())
  }

  /** Runs a pass in `ms` (unless one is due sooner). */
  later(ms: number): void {
    if (this.halted || Date.now() + ms >= this.wakeAt) return
    clearTimeout(this.timer)
    this.wakeAt = Date.now() + ms
    this.timer = setTimeout(() => this.kick(), ms)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    this.halted = true
    clearTimeout(this.timer)
    await this.running
  }

  private async runPass(): Promise<void> {
    this.queued = false
    clearTimeout(this.timer)
    this.wakeAt = Number.POSITIVE_INFINITY
    try {
      await this.pass()
      this.failures = 0
      this.options.outage?.recovered()
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) return this.options.onError(error)
      if (this.failures++ === 0) this.options.outage?.failed(error)
      this.later(Math.min(BACKOFF_MIN_MS * 2 ** (this.failures - 1), BACKOFF_MAX_MS))
      return
    }
    if (this.options.idleMs !== undefined) this.later(this.options.idleMs)
  }
}
