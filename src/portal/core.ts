import {setTimeout as sleep} from 'node:timers/promises'

import type {JqEngine} from '../jq/engine.js'
import {systemClock, type Clock} from '../shared/when.js'
import type {Run} from '../model/port.js'
import {Actions} from './catalog/actions.js'
import {AgentPolls} from './runs/agent-polls.js'
import {Blueprints} from './catalog/blueprints.js'
import {Credentials} from './auth/credentials.js'
import {Entities} from './catalog/entities.js'
import {InheritedTeams} from './catalog/inherited-teams.js'
import {Automations} from './invoke/automations.js'
import {afterCommit, ChangeQueue, runInUnit, type UnitOfWork} from './writes/unit-of-work.js'
import {batchedWrites} from './invoke/batched-writes.js'
import {Dispatcher} from './invoke/dispatcher.js'
import {WorkLeases} from './invoke/leases.js'
import {StoreOutage} from './invoke/store-outage.js'
import type {GitHubSettings} from './invoke/backends/backend.js'
import {ApprovalNotifier} from './invoke/notifications.js'
import {TimerScheduler} from './invoke/timers.js'
import {PortalNotice} from './notice.js'
import {Permissions} from './auth/permissions.js'
import {PortalError} from './http/errors.js'
import {RunEvents} from './runs/run-events.js'
import {RunApprovals} from './runs/approvals.js'
import {Runs} from './runs/runs.js'
import {TokenIssuer} from './auth/tokens.js'
import {isWriteConflict, type Store} from './store/store.js'

const RUN_TOKEN_TTL_MS = 3_600_000

/** How many times a write is tried while the database refuses it as conflicting with another. */
const WRITE_ATTEMPTS = 5
/** Retries wait up to this, doubled per attempt (at most 0.3 s in all). */
const CONFLICT_BACKOFF_MS = 10

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
  /** The portal's clock (tests move it instead of sleeping): timers, runs, tokens, audit times. */
  clock?: Clock
  /** How long a lease on a delivery or automation event lasts unless renewed (see WorkLeases). */
  leaseMs?: number
}

/**
 * The portal's domain classes (Blueprints, Entities, Actions, Runs…) and background work, around one write path: every write runs in a
 * transaction, its changes become timers and automation runs before it commits, and after it
 * commits the dispatcher and the timer scheduler look for work.
 */
export class PortalCore {
  readonly changes = new ChangeQueue()
  readonly events = new RunEvents()
  readonly blueprints: Blueprints
  readonly entities: Entities
  private readonly inheritedTeams: InheritedTeams
  readonly actions: Actions
  readonly runs: Runs
  readonly approvals: RunApprovals
  readonly permissions: Permissions
  readonly credentials: Credentials
  /** When agents last polled the queue (an idp extension, for the CLI's hints). */
  readonly agentPolls: AgentPolls
  readonly notifier: ApprovalNotifier
  readonly automations: Automations
  readonly dispatcher: Dispatcher
  readonly timers: TimerScheduler
  /** The leases this process holds on background work, among the processes sharing the store. */
  readonly leases: WorkLeases
  readonly tokenTtlSeconds: number
  readonly clock: Clock
  private issuer: TokenIssuer | undefined

  constructor(readonly options: CoreOptions) {
    const {jq, store} = options
    const onError = options.onError ?? (() => {})
    const clock = (this.clock = options.clock ?? systemClock)
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? 10_800
    this.leases = new WorkLeases({clock, leaseMs: options.leaseMs, onError, store})
    const outage = new StoreOutage(onError)
    this.agentPolls = new AgentPolls(store.shared)
    this.inheritedTeams = new InheritedTeams(store, this.changes)
    this.blueprints = new Blueprints(store, this.inheritedTeams)
    this.entities = new Entities(store, this.changes, this.inheritedTeams)
    this.actions = new Actions(store)
    this.permissions = new Permissions(store, jq)
    this.credentials = new Credentials(store, clock)
    this.notifier = new ApprovalNotifier({
      failed: async (runId, message) => {
        await this.write(() => this.runs.record(runId, {}, clock(), message))
      },
      retryBaseMs: options.retryBaseMs,
      secret: async () => (await store.adminCredential())?.clientSecret ?? '',
    })
    this.runs = new Runs({
      approvalNeeded: (run, action, approvers) => afterCommit(() => this.notifier.notify(run, action, approvers)),
      changes: this.changes,
      events: this.events,
      jq,
      notice: (message) => onError(new PortalNotice(message)),
      permissions: this.permissions,
      store,
    })
    this.approvals = new RunApprovals(store, this.permissions, this.runs)
    this.automations = new Automations({
      changes: this.changes,
      clock,
      jq,
      leases: this.leases,
      onError,
      outage,
      runs: this.runs,
      store,
      write: (work, depth) => this.write(work, depth),
    })
    this.dispatcher = new Dispatcher({
      baseUrl: options.baseUrl ?? (() => 'http://127.0.0.1:5480'),
      entities: this.entities,
      github: options.github ?? {apiUrl: 'https://api.github.com'},
      clock,
      jq,
      leases: this.leases,
      onError,
      outage,
      selfCallToken: async (run) => (await this.selfCallToken(run)).token,
      requestTimeoutMs: options.webhookTimeoutMs,
      retryBaseMs: options.retryBaseMs,
      runs: this.runs,
      store,
      write: batchedWrites((work) => this.write(work)),
    })
    this.timers = new TimerScheduler({
      changes: this.changes,
      clock,
      idleMs: this.leases.leaseMs,
      onError,
      outage,
      store,
      write: (work) => this.write(work),
    })
  }

  get store(): Store {
    return this.options.store
  }

  /**
   * A write: `work` runs in one transaction with its own unit of work; the changes it records
   * become timers and automation runs before it commits; after it commits, the work it left
   * (notifications, watchers) runs, and the dispatcher and the timer scheduler look for work if
   * it gave them some. `depth` counts automation hops.
   * A write the database refuses for a concurrent one's sake (PostgreSQL's serialization failures
   * and deadlocks) runs again from the start, a few times, then answers 503: `work` must be safe to
   * run again, as it is when it reads what it needs inside.
   * Keep `work` short: jq, regexes and network calls belong before it (see Runs.prepare).
   */
  async write<T>(work: () => Promise<T>, depth = 0): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.writeOnce(work, depth)
      } catch (error) {
        if (!isWriteConflict(error)) throw error
        if (attempt === WRITE_ATTEMPTS) {
          throw new PortalError(
            503,
            'write_conflict',
            `The database refused this write ${WRITE_ATTEMPTS} times for concurrent writes' sake; try it again`,
          )
        }
        // Jittered, so that writes that collided do not collide again in step.
        await sleep(Math.random() * CONFLICT_BACKOFF_MS * 2 ** attempt)
      }
    }
  }

  /** One attempt at a write, with a unit of work of its own (a retried write starts afresh). */
  private async writeOnce<T>(work: () => Promise<T>, depth: number): Promise<T> {
    const at = this.clock().toISOString()
    const unit: UnitOfWork = {afterCommit: [], at, audits: [], changes: [], depth, wake: new Set()}
    let queuedConditions = false
    const result = await this.store.transaction(() =>
      runInUnit(unit, async () => {
        const value = await work()
        await this.inheritedTeams.propagate(unit.changes, this.clock())
        queuedConditions = await this.automations.handle(this.clock())
        if (unit.audits.length > 0) await this.store.addAudits(unit.audits)
        return value
      }),
    )
    for (const then of unit.afterCommit) then()
    if (queuedConditions) this.automations.kick()
    if (unit.wake.has('dispatcher')) this.dispatcher.kick()
    if (unit.wake.has('timers')) this.timers.kick()
    return result
  }

  /**
   * An access token for a credential (the organisation's admin by default): signed, not stored,
   * so issuing one never waits behind a write.
   */
  async token(clientId?: string): Promise<{token: string; expiresAt: number}> {
    const id = clientId ?? (await this.store.adminCredential())?.clientId
    if (!id) throw new Error('The portal has no credentials')
    const now = this.clock().getTime()
    return (await this.tokens()).issue({clientId: id, expiresAt: now + this.tokenTtlSeconds * 1000}, now)
  }

  /**
   * A token for one run's handler (an idp extension): it may report on that run only, and stops
   * working when the run ends or after an hour.
   */
  async runToken(runId: string, clientId: string): Promise<{token: string; expiresAt: number}> {
    const now = this.clock().getTime()
    return (await this.tokens()).issue({clientId, expiresAt: now + RUN_TOKEN_TTL_MS, runId}, now)
  }

  /**
   * A token for a run's backend calling the portal's own API (Port's API in a webhook's URL): the
   * organisation's rights, as on Port, with its changes credited to whoever started the run.
   */
  async selfCallToken(run: Run): Promise<{token: string; expiresAt: number}> {
    const admin = (await this.store.adminCredential())?.clientId
    if (!admin) throw new Error('The portal has no credentials')
    const now = this.clock().getTime()
    const claims = {actingFor: run.createdBy, clientId: admin, expiresAt: now + RUN_TOKEN_TTL_MS, runId: run.id}
    return (await this.tokens()).issue(claims, now)
  }

  async tokens(): Promise<TokenIssuer> {
    this.issuer ??= new TokenIssuer(await this.store.tokenKey())
    return this.issuer
  }

  /**
   * Resumes work left by an earlier process: deliveries, GitHub follows, expired timers. On a
   * store that one process serves (SQLite), leases left in it are a dead process's: released at once.
   */
  async start(): Promise<void> {
    const {store} = this
    if (!store.watchWork) await store.transaction(() => store.releaseLeases())
    store.watchWork?.(() => this.kick())
    this.kick()
  }

  /** Background work looks for work now (another process released some). */
  private kick(): void {
    this.automations.kick()
    this.dispatcher.kick()
    this.timers.kick()
  }

  /** Stops background work, then releases its leases so that other processes take it at once. */
  async stop(): Promise<void> {
    await this.automations.stop()
    await this.timers.stop()
    await this.dispatcher.stop()
    await this.notifier.stop()
    await this.leases.release()
  }
}
