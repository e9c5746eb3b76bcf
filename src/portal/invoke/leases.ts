import {hostname} from 'node:os'

import type {Clock} from '../../shared/when.js'
import {generateId} from '../ids.js'
import {PortalNotice} from '../notice.js'
import {StoreUnavailableError, type Store} from '../store/store.js'

/**
 * How long a lease on background work lasts unless renewed. Work in flight renews its lease every
 * third of this, so a live process keeps it however slow the delivery (a webhook may take up to
 * its request timeout, 30 s by default); a process that dies without releasing its leases has its
 * work taken over by another this long after its last renewal.
 */
export const DEFAULT_LEASE_MS = 30_000

/**
 * The leases this process holds on deliveries and automation events (Store.claimDueDeliveries,
 * claimAutomationEvents): renewed while the work is in flight, released when the process stops.
 */
export class WorkLeases {
  /** This process among those sharing the store: its host and pid, for operators, and a random part. */
  readonly owner = generateId(`${hostname()}:${process.pid}`, 8)
  readonly leaseMs: number
  private readonly deliveries = new Set<string>()
  private readonly events = new Set<number>()
  private readonly renewal: NodeJS.Timeout

  constructor(
    private readonly options: {store: Store; clock: Clock; onError: (error: unknown) => void; leaseMs?: number},
  ) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS
    this.renewal = setInterval(() => void this.renew(), this.leaseMs / 3).unref()
  }

  /** When a lease taken now ends. */
  until(): number {
    return this.options.clock().getTime() + this.leaseMs
  }

  holdDelivery(runId: string): void {
    this.deliveries.add(runId)
  }

  dropDelivery(runId: string): void {
    this.deliveries.delete(runId)
  }

  holdEvent(seq: number): void {
    this.events.add(seq)
  }

  dropEvent(seq: number): void {
    this.events.delete(seq)
  }

  /** Ends every lease this process holds, so that other processes take the work at once. */
  async release(): Promise<void> {
    clearInterval(this.renewal)
    const {onError, store} = this.options
    await store
      .transaction(() => store.releaseLeases(this.owner))
      .catch((error: unknown) => {
        if (!(error instanceof StoreUnavailableError)) return onError(error)
        const seconds = this.leaseMs / 1000
        onError(
          new PortalNotice(`${error.message}; this process's leases were not released and lapse within ${seconds}s`),
        )
      })
  }

  private async renew(): Promise<void> {
    if (this.deliveries.size === 0 && this.events.size === 0) return
    const {store} = this.options
    const lease = {deliveries: [...this.deliveries], events: [...this.events], owner: this.owner, until: this.until()}
    // While the database is away the leases cannot be renewed; the workers say so and back off.
    await store
      .transaction(() => store.renewLeases(lease))
      .catch((error: unknown) => {
        if (!(error instanceof StoreUnavailableError)) this.options.onError(error)
      })
  }
}
