import type {Store} from '../store/store.js'
import type {ChangeQueue} from '../writes/unit-of-work.js'
import {SerialWork} from './serial.js'
import type {StoreOutage} from './store-outage.js'
import {systemClock, type Clock} from '../../shared/when.js'

/**
 * Fires `format: timer` properties when they expire (within a second), once: each fired timer is
 * marked in the same transaction as the automation runs it starts, so a crash can neither lose
 * nor repeat it, and timers that expired while the portal was down fire once when it starts.
 */
export class TimerScheduler {
  private readonly serial: SerialWork

  private readonly store: Store
  private readonly changes: ChangeQueue
  private readonly write: <T>(work: () => Promise<T>) => Promise<T>
  private readonly clock: Clock

  constructor(options: {
    store: Store
    changes: ChangeQueue
    write: <T>(work: () => Promise<T>) => Promise<T>
    onError: (error: unknown) => void
    clock?: Clock
    outage?: StoreOutage
    /** How often to look when no timer is known (other processes sharing the store set timers too). */
    idleMs?: number
  }) {
    this.store = options.store
    this.changes = options.changes
    this.write = options.write
    this.clock = options.clock ?? systemClock
    this.serial = new SerialWork(() => this.fireDue(), {
      idleMs: options.idleMs,
      onError: options.onError,
      outage: options.outage,
    })
  }

  /** Re-plans the next wake-up (after writes that may have set a timer). */
  kick(): void {
    this.serial.kick()
  }

  stop(): Promise<void> {
    return this.serial.stop()
  }

  private async fireDue(): Promise<void> {
    for (;;) {
      const next = await this.store.nextTimerAt()
      if (next === undefined || this.serial.stopped) return
      const now = this.clock().getTime()
      if (next > now) {
        // Wake at the next expiry; never sleep more than a second, so clock jumps do not matter.
        this.serial.later(Math.min(1000, next - now + 5))
        return
      }
      await this.write(async () => {
        for (const timer of await this.store.fireDueTimers(now, 200)) {
          const entity = await this.store.getEntity(timer.blueprint, timer.entity)
          if (entity)
            this.changes.push({
              blueprint: timer.blueprint,
              entity,
              identifier: timer.entity,
              kind: 'timer',
              property: timer.property,
            })
        }
      })
    }
  }
}
