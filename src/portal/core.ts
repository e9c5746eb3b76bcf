import type {JqEngine} from '../jq/engine.js'
import {ActionsService} from './actions-service.js'
import {BlueprintsService} from './blueprints-service.js'
import {Credentials} from './credentials.js'
import {EntitiesService} from './entities-service.js'
import {generateId} from './ids.js'
import {Automations} from './invoke/automations.js'
import {ChangeQueue} from './invoke/changes.js'
import {Dispatcher, type GitHubSettings} from './invoke/dispatcher.js'
import {ApprovalNotifier} from './invoke/notifications.js'
import {TimerScheduler} from './invoke/timers.js'
import {Permissions} from './permissions.js'
import {RunEvents} from './run-events.js'
import {RunsService} from './runs-service.js'
import type {Store} from './store/store.js'

const RUN_TOKEN_TTL_MS = 3_600_000

export interface CoreOptions {
  store: Store
  jq: JqEngine
  /** This portal's base URL (known once it listens). */
  baseUrl?: () => string
  github?: GitHubSettings
  tokenTtlSeconds?: number
  onError?: (error: unknown) => void
  /** Fast retries for tests. */
  retryBaseMs?: number
  /** How long a webhook may take to answer before the attempt counts as failed (default 30 s). */
  webhookTimeoutMs?: number
}

/**
 * The portal's services and background work, around one write path: every write runs in a
 * transaction, its changes become timers and automation runs before it commits, and after it
 * commits the dispatcher and the timer scheduler look for work.
 */
export class PortalCore {
  readonly changes = new ChangeQueue()
  readonly events = new RunEvents()
  readonly blueprints: BlueprintsService
  readonly entities: EntitiesService
  readonly actions: ActionsService
  readonly runs: RunsService
  readonly permissions: Permissions
  readonly credentials: Credentials
  readonly notifier: ApprovalNotifier
  readonly automations: Automations
  readonly dispatcher: Dispatcher
  readonly timers: TimerScheduler
  readonly tokenTtlSeconds: number
  /** Work for after the current write commits (nothing is sent for a write that rolls back). */
  private afterCommit: (() => void)[] = []

  constructor(readonly options: CoreOptions) {
    const {jq, store} = options
    const onError = options.onError ?? (() => {})
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? 10_800
    this.blueprints = new BlueprintsService(store)
    this.entities = new EntitiesService(store, this.changes)
    this.actions = new ActionsService(store)
    this.permissions = new Permissions(store, jq)
    this.credentials = new Credentials(store)
    this.notifier = new ApprovalNotifier({
      failed: async (runId, message) => {
        await this.write(() => this.runs.record(runId, {}, new Date(), message))
      },
      retryBaseMs: options.retryBaseMs,
      secret: async () => (await store.adminCredential())?.clientSecret ?? '',
    })
    this.runs = new RunsService(store, jq, this.events, this.permissions, this.changes, (run, action, approvers) =>
      this.afterCommit.push(() => this.notifier.notify(run, action, approvers)),
    )
    this.automations = new Automations(store, jq, this.runs, this.changes, onError)
    this.dispatcher = new Dispatcher({
      baseUrl: options.baseUrl ?? (() => 'http://127.0.0.1:5480'),
      entities: this.entities,
      github: options.github ?? {apiUrl: 'https://api.github.com'},
      jq,
      onError,
      portalToken: () => this.write(async () => (await this.token()).token, {dispatcher: false}),
      requestTimeoutMs: options.webhookTimeoutMs,
      retryBaseMs: options.retryBaseMs,
      runs: this.runs,
      store,
      // Its own writes need not wake it: it looks again after each piece of work.
      write: (work) => this.write(work, {dispatcher: false}),
    })
    this.timers = new TimerScheduler(store, this.changes, (work, kick) => this.write(work, kick), onError)
  }

  get store(): Store {
    return this.options.store
  }

  async write<T>(work: () => Promise<T>, kick: {dispatcher?: boolean; timers?: boolean} = {}): Promise<T> {
    let committed: (() => void)[] = []
    // Cleanup happens inside the transaction callback: transactions run one at a time, so the
    // queues hold this write's entries only (the next write may start as soon as this one ends).
    const result = await this.store.transaction(async () => {
      try {
        const value = await work()
        await this.automations.handle(new Date())
        committed = this.afterCommit.splice(0)
        return value
      } catch (error) {
        this.changes.take() // rolled back: nothing happened
        this.afterCommit = []
        throw error
      }
    })
    for (const then of committed) then()
    if (kick.dispatcher !== false) this.dispatcher.kick()
    if (kick.timers !== false) this.timers.kick()
    return result
  }

  /** The live access token of a credential (the organisation's admin by default), or a new one. */
  async token(clientId?: string): Promise<{token: string; expiresAt: number}> {
    const id = clientId ?? (await this.store.adminCredential())?.clientId
    if (!id) throw new Error('The portal has no credentials')
    const now = Date.now()
    const live = await this.store.liveToken(id, now + 60_000)
    if (live) return live
    const fresh = {clientId: id, expiresAt: now + this.tokenTtlSeconds * 1000, token: generateId('idp', 40)}
    await this.store.saveToken(fresh)
    return fresh
  }

  /**
   * A token for one run's handler (an idp extension): member rights, so it cannot change the data
   * model, and it stops working when the run ends or after an hour.
   */
  async runToken(runId: string, clientId: string): Promise<{token: string; expiresAt: number}> {
    const token = {clientId, expiresAt: Date.now() + RUN_TOKEN_TTL_MS, runId, token: generateId('idp', 40)}
    await this.store.saveToken(token)
    return token
  }

  /** Resumes work left by an earlier process: deliveries, GitHub follows, expired timers. */
  start(): void {
    this.dispatcher.kick()
    this.timers.kick()
  }

  async stop(): Promise<void> {
    await this.timers.stop()
    await this.dispatcher.stop()
    await this.notifier.stop()
  }
}
