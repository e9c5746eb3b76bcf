import {isFinal, type Action, type Run} from '../../model/port.js'
import {systemClock, type Clock} from '../../shared/when.js'
import {ORG_ID} from '../writes/audit.js'
import {toWire} from '../catalog/wire.js'
import {StoreUnavailableError, type Dispatch} from '../store/store.js'
import {queueForAgent} from './backends/agent-queue.js'
import type {BackendKit, BackendOptions} from './backends/backend.js'
import {dispatchWorkflow, followWorkflow, type GitHubFollow} from './backends/github.js'
import {upsertEntity} from './backends/upsert-entity.js'
import {deliverWebhook} from './backends/webhook.js'
import type {WorkLeases} from './leases.js'
import {SerialWork} from './serial.js'
import type {StoreOutage} from './store-outage.js'
import {renderTemplate} from './templates.js'

export interface DispatcherOptions extends BackendOptions {
  clock?: Clock
  /** Delivery attempts for a webhook that is down or answers 5xx. */
  attempts?: number
  retryBaseMs?: number
  /** The leases this process holds on deliveries (one process sends each). */
  leases: WorkLeases
  outage?: StoreOutage
}

const CONCURRENCY = 16

/**
 * Hands runs to their backends. Work is read from the store (`dispatches`), so it survives a
 * restart: a delivery that was cut short is made again (at least once), a queued run waits for an
 * agent, a GitHub workflow keeps being followed. Each delivery (a GitHub follow too) is leased to
 * one process at a time, so processes sharing the store never send it twice; a dead process's
 * deliveries are taken over when their leases lapse.
 */
export class Dispatcher {
  private readonly inFlight = new Set<string>()
  private readonly serial: SerialWork
  /** Cancels requests in flight when the portal stops (the work is redone on the next start). */
  private readonly abort = new AbortController()

  private readonly clock: Clock
  /** What the backends (one module each, in backends/) get from the queue. */
  private readonly kit: BackendKit

  constructor(private readonly options: DispatcherOptions) {
    this.clock = options.clock ?? systemClock
    this.serial = new SerialWork(() => this.pump(), {
      idleMs: options.leases.leaseMs,
      onError: options.onError,
      outage: options.outage,
    })
    this.kit = {
      ...options,
      clock: () => this.clock(),
      fail: (dispatch, reason) => this.fail(dispatch, reason),
      isStopped: () => this.stopped,
      retry: (dispatch, run, reason) => this.retry(dispatch, run, reason),
      signal: () => this.signal(),
    }
  }

  private get stopped(): boolean {
    return this.serial.stopped
  }

  private signal(): AbortSignal {
    return AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.options.requestTimeoutMs ?? 30_000)])
  }

  /** Looks for due work now (after each write, and when a retry falls due). */
  kick(): void {
    this.serial.kick()
  }

  async stop(): Promise<void> {
    const stopping = this.serial.stop() // first, so that aborted deliveries are not retried
    this.abort.abort()
    await stopping
    while (this.inFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, 10))
  }

  private async pump(): Promise<void> {
    const {leases, store} = this.options
    const free = CONCURRENCY - this.inFlight.size
    const now = this.clock().getTime()
    // Claiming is a write: it waits until a delivery can be claimed (one that finishes kicks again).
    const next = await store.nextDispatchAt()
    if (next === undefined || free <= 0) return
    if (next > now) return this.serial.later(next - now)
    // Only as many as there are free slots: this runs after every delivery, so claiming (and
    // parsing) more would cost in proportion to the backlog, and hold work other processes could do.
    const claimed = await store.transaction(() =>
      store.claimDueDeliveries({limit: free, now, owner: leases.owner, until: leases.until()}),
    )
    // One of ours whose lease lapsed while in flight (renewals failed) is not started twice.
    for (const dispatch of claimed.filter((claim) => !this.inFlight.has(claim.runId))) {
      this.inFlight.add(dispatch.runId)
      leases.holdDelivery(dispatch.runId)
      void this.process(dispatch)
        .catch((error: unknown) => this.failed(error))
        .finally(() => {
          this.inFlight.delete(dispatch.runId)
          leases.dropDelivery(dispatch.runId)
          this.kick()
        })
    }
    if (claimed.length === free) return
    // The rest are leased to other processes or not due yet: look again when one can be claimed.
    const then = await store.nextDispatchAt()
    if (then !== undefined) this.serial.later(Math.max(10, then - this.clock().getTime()))
  }

  /**
   * A delivery cut short by the database going away stays leased until its lease lapses, then is
   * made again (by this process or another).
   */
  private failed(error: unknown): void {
    if (error instanceof StoreUnavailableError) this.options.outage?.failed(error)
    else this.options.onError(error)
  }

  private async process(dispatch: Dispatch): Promise<void> {
    const {store} = this.options
    const run = await store.getRun(dispatch.runId)
    if (!run || isFinal(run)) return this.done(dispatch)
    const action = await store.getAction(run.action.identifier)
    if (!action) return this.fail(dispatch, `Action "${run.action.identifier}" no longer exists`)
    if ((dispatch.context as GitHubFollow | undefined)?.github) return followWorkflow(this.kit, dispatch, run)
    let context: Record<string, unknown>
    try {
      context = await this.context(run, action, dispatch)
    } catch (error) {
      return this.fail(dispatch, `Could not build the run's context: ${(error as Error).message}`)
    }
    const method = action.invocationMethod
    const render = (template: unknown) => renderTemplate(template, context, this.options.jq)
    try {
      switch (method.type) {
        case 'WEBHOOK':
          return await deliverWebhook(this.kit, dispatch, run, method, render, context)
        case 'KAFKA': {
          const payload = {body: await render(method.payload ?? context), type: 'KAFKA'}
          return await queueForAgent(this.kit, dispatch, run, payload)
        }
        case 'GITHUB':
          return await dispatchWorkflow(this.kit, dispatch, run, method, render)
        case 'UPSERT_ENTITY':
          return await upsertEntity(this.kit, dispatch, run, method, render)
        default:
          return await this.fail(
            dispatch,
            `The embedded portal cannot run ${method.type} backends; use WEBHOOK (optionally through idp agent), KAFKA (idp agent handlers), GITHUB or UPSERT_ENTITY`,
          )
      }
    } catch (error) {
      return this.fail(dispatch, `Could not render the invocation templates: ${(error as Error).message}`)
    }
  }

  /** Port's trigger data: what `{{ }}` templates see. */
  private async context(run: Run, action: Action, dispatch: Dispatch): Promise<Record<string, unknown>> {
    const {store} = this.options
    const entity =
      run.entity && run.blueprint ? await store.getEntity(run.blueprint.identifier, run.entity.identifier) : undefined
    const caller = await store.getCredential(run.createdBy)
    const inputs = action.trigger.userInputs?.properties ?? {}
    return {
      action: {
        blueprint: action.trigger.blueprintIdentifier ?? null,
        encryptedProperties: Object.keys(inputs).filter((name) => inputs[name]?.encryption),
        identifier: action.identifier,
      },
      entity: entity ? toWire(entity) : {},
      event: (dispatch.context as {event?: unknown} | undefined)?.event ?? null,
      inputs: run.properties,
      run: {id: run.id},
      trigger: {
        at: run.createdAt,
        by: {orgId: ORG_ID, user: {email: caller?.email ?? run.createdBy, id: run.createdBy}, userId: run.createdBy},
        operation: action.trigger.operation ?? null,
        origin: run.source === 'AUTOMATION' ? 'AUTOMATION' : 'API',
      },
    }
  }

  /** A delivery that failed in a way worth retrying: again after a backoff, a bounded number of times. */
  private async retry(dispatch: Dispatch, run: Run, reason: string) {
    if (this.stopped) return // cut short by the portal stopping: the next start delivers it again
    const attempts = dispatch.attempts + 1
    const allowed = this.options.attempts ?? 4
    if (attempts >= allowed) return this.fail(dispatch, `Gave up after ${attempts} attempts: ${reason}`)
    const wait = (this.options.retryBaseMs ?? 1000) * 2 ** (attempts - 1)
    await this.options.write(async () => {
      await this.options.runs.record(
        run.id,
        {},
        this.clock(),
        `Attempt ${attempts} of ${allowed} failed (${reason}); retrying in ${(wait / 1000).toFixed(1)}s`,
      )
      await this.options.store.putDispatch({...dispatch, attempts, availableAt: this.clock().getTime() + wait})
    })
  }

  private async fail(dispatch: Dispatch, reason: string) {
    await this.options.write(async () => {
      await this.options.runs.finish(dispatch.runId, {log: reason, status: 'FAILURE', summary: reason}, this.clock())
      await this.options.store.putDispatch({...dispatch, state: 'done'})
    })
  }

  private async done(dispatch: Dispatch) {
    await this.options.write(() => this.options.store.putDispatch({...dispatch, state: 'done'}))
  }
}
