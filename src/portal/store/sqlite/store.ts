import {AsyncLocalStorage} from 'node:async_hooks'
import {chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync} from 'node:fs'
import {join} from 'node:path'

import type Database from 'better-sqlite3'

import {breathe} from '../../../shared/breathe.js'
import {
  isFinal,
  type Action,
  type AuditFilter,
  type AuditRecord,
  type Blueprint,
  type Run,
  type RunFilter,
  type RunLog,
  type RunStatus,
} from '../../../model/port.js'
import {relationTargets} from '../../../domain/entity-rules.js'
import {filterSql} from './filter.js'
import {loadSqlite} from './module.js'
import {migrate} from './schema.js'
import {MAX_AUDIT_RECORDS} from '../store.js'
import {credential, dispatch, statements, Where, type Statements} from './statements.js'
import type {
  ActionPermissions,
  AutomationEvent,
  Approval,
  Credential,
  Dependent,
  Dispatch,
  EntityFilter,
  EntityRef,
  EntityText,
  Lease,
  RemovedTarget,
  Store,
  StoredEntity,
  Timer,
  WebSessionRow,
} from '../store.js'

/** How many entities a search examines in one synchronous step. */
const SEARCH_WINDOW = 1000

/** Marks the async context of a store's open write transaction (see SqliteStore.q). */
const inTransaction = new AsyncLocalStorage<SqliteStore>()

/**
 * SQLite through better-sqlite3: WAL with synchronous=NORMAL (a killed process loses no committed
 * write), rowid tables (much faster than WITHOUT ROWID for ~1 KB JSON rows, see perf-limits.md)
 * and prepared statements.
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database
  private readonly reader: Database.Database
  private readonly sql: Statements
  private readonly readSql: Statements
  /** Serialises transactions: a write request's work may await, and SQLite has one writer. */
  private queue: Promise<unknown> = Promise.resolve()

  private constructor(Sqlite: typeof Database, file: string) {
    this.db = new Sqlite(file)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = NORMAL')
    this.db.pragma('foreign_keys = ON')
    this.db.pragma('busy_timeout = 5000')
    migrate(this.db)
    // Reads outside a write transaction go to a connection of their own, so they only ever see
    // committed data, never a write in progress (which may still roll back).
    this.reader = new Sqlite(file, {fileMustExist: true, readonly: true})
    this.reader.pragma('busy_timeout = 5000')
    this.sql = statements(this.db)
    this.readSql = statements(this.reader)
  }

  /** The write connection's statements inside this store's transaction; the reader's elsewhere. */
  private get q(): Statements {
    return inTransaction.getStore() === this ? this.sql : this.readSql
  }

  private get connection(): Database.Database {
    return inTransaction.getStore() === this ? this.db : this.reader
  }

  /** What opening the data directory had to put right (loose permissions), for the caller to tell. */
  warnings: string[] = []

  /**
   * Opens `<dataDir>/portal.db`. The folder is 0700 and every file 0600 from the first byte: the
   * database is created empty with mode 0600 before SQLite opens it, and SQLite gives its -wal and
   * -shm files the database file's mode. A folder or file others could read is tightened, with a warning.
   */
  static open(dataDir: string): SqliteStore {
    const Sqlite = loadSqlite()
    const warnings: string[] = []
    if (existsSync(dataDir)) {
      const mode = statSync(dataDir).mode & 0o777
      if (mode & 0o077) {
        chmodSync(dataDir, 0o700)
        warnings.push(`${dataDir} was readable by others (mode ${mode.toString(8)}); it is now 0700`)
      }
    } else mkdirSync(dataDir, {mode: 0o700, recursive: true})
    const file = join(dataDir, 'portal.db')
    if (!existsSync(file)) closeSync(openSync(file, 'wx', 0o600))
    for (const name of [file, `${file}-wal`, `${file}-shm`]) {
      if (!existsSync(name)) continue
      const mode = statSync(name).mode & 0o777
      if (mode & 0o077) {
        chmodSync(name, 0o600)
        warnings.push(`${name} was readable by others (mode ${mode.toString(8)}); it is now 0600`)
      }
    }
    const store = new SqliteStore(Sqlite, file)
    store.warnings = warnings
    return store
  }

  /**
   * better-sqlite3 answers synchronously, so a long write (a bulk request, a cascade) would hold
   * the event loop to its end. Every 20 entity writes it lets other requests in: reads go to the
   * read connection and see the last commit; other writes wait for this one as before.
   */
  private writes = 0
  private async pace(): Promise<void> {
    if (++this.writes % 20 === 0) await breathe()
  }

  async transaction<T>(work: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.db.exec('BEGIN IMMEDIATE')
      try {
        const result = await inTransaction.run(this, work)
        this.db.exec('COMMIT')
        return result
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK')
        throw error
      }
    }
    const next = this.queue.then(run, run)
    this.queue = next.catch(() => undefined)
    return next
  }

  async close(): Promise<void> {
    await this.queue
    this.reader.close()
    this.db.close()
  }

  async createCredential(credential: Credential): Promise<void> {
    const {clientId, clientSecret, createdAt, email, role, teams} = credential
    this.q.credentialPut.run(clientId, clientSecret, role, createdAt, email ?? null, JSON.stringify(teams ?? []))
  }

  async deleteCredential(clientId: string): Promise<boolean> {
    return this.q.credentialDelete.run(clientId).changes > 0
  }

  async getCredential(clientId: string): Promise<Credential | undefined> {
    const row = this.q.credentialGet.get(clientId)
    return row && credential(row)
  }

  async putDispatch(dispatch: Dispatch): Promise<void> {
    this.q.dispatchPut.run({
      attempts: dispatch.attempts,
      availableAt: dispatch.availableAt,
      claimedUntil: dispatch.claimedUntil ?? null,
      context: dispatch.context === undefined ? null : JSON.stringify(dispatch.context),
      installationId: dispatch.installationId ?? null,
      runId: dispatch.runId,
      state: dispatch.state,
    })
  }

  async getDispatch(runId: string): Promise<Dispatch | undefined> {
    const row = this.q.dispatchGet.get(runId)
    return row && dispatch(row)
  }

  async claimDueDeliveries(claim: Lease & {now: number; limit: number}): Promise<Dispatch[]> {
    return this.q.dispatchLease
      .all(claim.owner, claim.until, claim.now, claim.now, claim.limit)
      .sort((a, b) => a.available_at - b.available_at || a.seq - b.seq)
      .map(dispatch)
  }

  async renewLeases(lease: Lease & {deliveries: string[]; events: number[]}): Promise<void> {
    this.q.dispatchRenew.run(lease.until, lease.owner, JSON.stringify(lease.deliveries))
    this.q.automationEventRenew.run(lease.until, lease.owner, JSON.stringify(lease.events))
  }

  async releaseLeases(owner?: string): Promise<void> {
    this.q.leasesRelease.run(owner ?? null, owner ?? null)
    this.q.eventLeasesRelease.run(owner ?? null, owner ?? null)
  }

  async claimDispatches(claim: Parameters<Store['claimDispatches']>[0]) {
    const claimed: Dispatch[] = []
    const exclude = JSON.stringify(claim.exclude ?? [])
    for (const row of this.q.dispatchClaimable.all(
      claim.now,
      claim.invocationMethod ?? null,
      claim.invocationMethod ?? null,
      exclude,
      claim.limit,
    )) {
      if (row.status === null || isFinal({status: row.status as RunStatus})) {
        this.q.dispatchState.run('done', row.run_id)
        continue
      }
      this.q.dispatchClaim.run(claim.until, claim.installationId, row.run_id)
      claimed.push({
        ...dispatch(row),
        claimedUntil: claim.until,
        installationId: claim.installationId,
        state: 'claimed',
      })
    }
    return claimed
  }

  async nextDispatchAt(): Promise<number | undefined> {
    return this.q.dispatchNext.get()?.at ?? undefined
  }

  async setTimers(blueprint: string, entity: string, timers: Timer[]): Promise<void> {
    const fired = new Map<string, number | null>()
    for (const timer of timers) {
      const row = this.q.timerGet.get(blueprint, entity, timer.property)
      // A timer keeps its "fired" mark while its expiry stays the same, so it never fires twice.
      if (row && row.expires_at === timer.expiresAt) fired.set(timer.property, row.fired_at)
    }
    this.q.timerDelete.run(blueprint, entity)
    for (const timer of timers)
      this.q.timerPut.run(blueprint, entity, timer.property, timer.expiresAt, fired.get(timer.property) ?? null)
  }

  async fireDueTimers(now: number, limit: number): Promise<Timer[]> {
    const due = this.q.timerDue
      .all(now, limit)
      .map((row) => ({blueprint: row.blueprint, entity: row.entity, expiresAt: row.expires_at, property: row.property}))
    for (const timer of due) this.q.timerFire.run(now, timer.blueprint, timer.entity, timer.property, timer.expiresAt)
    return due
  }

  async queueAutomationEvent(event: Omit<AutomationEvent, 'seq'>): Promise<void> {
    this.q.automationEventPut.run(event.automation, JSON.stringify(event.event), event.depth)
  }

  async claimAutomationEvents(claim: Lease & {now: number; limit: number}): Promise<AutomationEvent[]> {
    return this.q.automationEventClaim
      .all(claim.owner, claim.until, claim.now, claim.limit)
      .sort((a, b) => a.seq - b.seq)
      .map((row) => ({
        automation: row.automation,
        depth: row.depth,
        event: JSON.parse(row.event) as unknown,
        seq: row.seq,
      }))
  }

  async addAudits(records: AuditRecord[]): Promise<void> {
    for (const record of records) {
      const {lastInsertRowid} = this.q.auditAdd.run({
        action: record.action,
        at: record.trigger.at,
        blueprint: record.context.blueprint ?? null,
        data: JSON.stringify(record),
        entity: record.context.entity ?? null,
        identifier: record.identifier,
        resourceType: record.resourceType,
        runId: record.context.runId ?? null,
        status: record.status,
      })
      // Trimming every thousandth record keeps the table bounded at one cheap range delete.
      if (Number(lastInsertRowid) % 1000 === 0) this.q.auditTrim.run(Number(lastInsertRowid) - MAX_AUDIT_RECORDS)
    }
  }

  async audits(filter: AuditFilter): Promise<AuditRecord[]> {
    const where = new Where()
      .equal('identifier', filter.identifier)
      .equal('entity', filter.entity)
      .equal('blueprint', filter.blueprint)
      .equal('run_id', filter.runId)
      .equal('action', filter.action)
      .equal('status', filter.status)
      .clause('at >= ?', filter.from)
      .clause('at <= ?', filter.to)
      .oneOf('resource_type', filter.resources)
    return this.connection
      .prepare<unknown[], {data: string}>(`SELECT data FROM audits ${where.sql()} ORDER BY seq DESC LIMIT ?`)
      .all(...where.values, filter.limit)
      .map((row) => JSON.parse(row.data) as AuditRecord)
  }

  async deleteAutomationEvent(seq: number): Promise<boolean> {
    return this.q.automationEventDelete.run(seq).changes > 0
  }

  async nextTimerAt(): Promise<number | undefined> {
    return this.q.timerNext.get()?.at ?? undefined
  }

  async countCredentials(): Promise<number> {
    return this.q.credentialCount.get()!.n
  }

  async listCredentials(): Promise<Credential[]> {
    return this.q.credentialList.all().map(credential)
  }

  async adminCredential(): Promise<Credential | undefined> {
    const row = this.q.credentialAdmin.get()
    return row ? this.getCredential(row.client_id) : undefined
  }

  async getSetting(key: string): Promise<unknown> {
    const row = this.q.metaGet.get(`setting:${key}`)
    return row ? (JSON.parse(row.value) as unknown) : undefined
  }

  async putSetting(key: string, value: unknown): Promise<void> {
    this.q.metaPut.run(`setting:${key}`, JSON.stringify(value))
  }

  async tokenKey(): Promise<Buffer> {
    return Buffer.from(this.q.metaGet.get('token_key')!.value, 'base64')
  }

  async listBlueprints(): Promise<Blueprint[]> {
    return this.q.blueprintList.all().map((row) => JSON.parse(row.data) as Blueprint)
  }

  async inheritingBlueprints(): Promise<Blueprint[]> {
    return this.q.inheritingBlueprints.all().map((row) => JSON.parse(row.data) as Blueprint)
  }

  async getBlueprint(identifier: string): Promise<Blueprint | undefined> {
    const row = this.q.blueprintGet.get(identifier)
    return row && (JSON.parse(row.data) as Blueprint)
  }

  async putBlueprint(blueprint: Blueprint): Promise<void> {
    this.q.blueprintPut.run(blueprint.identifier, JSON.stringify(blueprint))
  }

  async deleteBlueprint(identifier: string): Promise<void> {
    this.q.blueprintDelete.run(identifier)
  }

  async getEntity(blueprint: string, identifier: string): Promise<StoredEntity | undefined> {
    const row = this.q.entityGet.get(blueprint, identifier)
    return row && (JSON.parse(row.data) as StoredEntity)
  }

  async existingEntities(blueprint: string, identifiers: string[]): Promise<Set<string>> {
    const found = new Set<string>()
    for (const identifier of new Set(identifiers))
      if (this.q.entityGet.get(blueprint, identifier)) found.add(identifier)
    return found
  }

  async putEntity(entity: StoredEntity, targets: Record<string, string>): Promise<void> {
    await this.pace()
    const {seq} = this.q.entityPut.get(entity.blueprint, entity.identifier, JSON.stringify(entity))!
    this.q.relationsClear.run(seq)
    for (const [name, value] of Object.entries(entity.relations)) {
      const blueprint = targets[name]
      if (!blueprint) continue
      for (const target of relationTargets(value)) this.q.relationInsert.run(seq, name, blueprint, target)
    }
  }

  async unlinkEntity(entity: StoredEntity, removed: RemovedTarget[]): Promise<void> {
    await this.pace()
    this.q.entityData.run(JSON.stringify(entity), entity.blueprint, entity.identifier)
    for (const {relation, target} of removed) {
      this.q.relationDelete.run(entity.blueprint, entity.identifier, relation, target.blueprint, target.identifier)
    }
  }

  async deleteEntity(blueprint: string, identifier: string): Promise<void> {
    await this.pace()
    this.q.entityDelete.run(blueprint, identifier)
  }

  async countEntities(blueprint: string): Promise<number> {
    return this.q.entityCount.get(blueprint)!.n
  }

  /**
   * Evaluates the filter over windows of at most SEARCH_WINDOW rows in storage order, with a turn
   * of the event loop between windows: a selective search over a large blueprint never holds
   * the loop for a whole scan, and an index range bounds each window.
   */
  async searchEntities(options: {
    blueprint?: string | undefined
    filter: EntityFilter
    after?: number
    limit: number
  }): Promise<EntityText[]> {
    const {params, sql} = filterSql(options.filter)
    const scope = options.blueprint === undefined ? [] : [options.blueprint]
    const where = options.blueprint === undefined ? '' : 'blueprint = ? AND'
    const query = this.connection.prepare<unknown[], EntityText>(
      `SELECT seq, blueprint, data AS json FROM entities WHERE ${where} seq > ? AND seq <= ? AND ${sql} ORDER BY seq LIMIT ?`,
    )
    const found: EntityText[] = []
    for (let after = options.after ?? 0; ; await breathe()) {
      const end = options.blueprint
        ? this.q.windowEndBlueprint.get(options.blueprint, after, SEARCH_WINDOW - 1)
        : this.q.windowEndAll.get(after, SEARCH_WINDOW - 1)
      const upTo = end?.seq ?? Number.MAX_SAFE_INTEGER
      found.push(...query.all(...scope, after, upTo, ...params, options.limit - found.length))
      if (found.length >= options.limit || !end) return found
      after = upTo
    }
  }

  async dependents(target: EntityRef): Promise<Dependent[]> {
    return this.q.dependents.all(target.blueprint, target.identifier)
  }

  async relatedTo(source: EntityRef): Promise<EntityRef[]> {
    return this.q.relatedTo.all(source.blueprint, source.identifier)
  }

  async listActions(): Promise<Action[]> {
    return this.q.actionList.all().map((row) => JSON.parse(row.data) as Action)
  }

  async listAutomations(): Promise<Action[]> {
    return this.q.automationList.all().map((row) => JSON.parse(row.data) as Action)
  }

  async getAction(identifier: string): Promise<Action | undefined> {
    const row = this.q.actionGet.get(identifier)
    return row && (JSON.parse(row.data) as Action)
  }

  async putAction(action: Action): Promise<void> {
    this.q.actionPut.run(action.identifier, JSON.stringify(action))
  }

  async deleteAction(identifier: string): Promise<void> {
    this.q.actionDelete.run(identifier)
    this.q.actionPermissionsDelete.run(identifier)
  }

  async getActionPermissions(identifier: string): Promise<ActionPermissions | undefined> {
    const row = this.q.actionPermissionsGet.get(identifier)
    return row && (JSON.parse(row.data) as ActionPermissions)
  }

  async putActionPermissions(identifier: string, permissions: ActionPermissions): Promise<void> {
    this.q.actionPermissionsPut.run(identifier, JSON.stringify(permissions))
  }

  async getRun(id: string): Promise<Run | undefined> {
    const row = this.q.runGet.get(id)
    return row && (JSON.parse(row.data) as Run)
  }

  async putRun(run: Run): Promise<void> {
    this.q.runPut.run({
      action: run.action.identifier,
      blueprint: run.blueprint?.identifier ?? null,
      createdBy: run.createdBy,
      data: JSON.stringify(run),
      entity: run.entity?.identifier ?? null,
      externalRunId: run.externalRunId ?? null,
      id: run.id,
      source: run.source,
      status: run.status,
    })
  }

  async listRuns(filter: RunFilter): Promise<Run[]> {
    const where = new Where()
      .equal('action', filter.action)
      .equal('entity', filter.entity)
      .equal('blueprint', filter.blueprint)
      .equal('external_run_id', filter.externalRunId)
      .equal('created_by', filter.userId)
      .oneOf('source', filter.source)
    if (filter.active !== undefined) {
      where.clause(
        filter.active
          ? "status IN ('IN_PROGRESS', 'WAITING_FOR_APPROVAL')"
          : "status NOT IN ('IN_PROGRESS', 'WAITING_FOR_APPROVAL')",
      )
    }
    return this.connection
      .prepare<unknown[], {data: string}>(`SELECT data FROM runs ${where.sql()} ORDER BY seq DESC LIMIT ?`)
      .all(...where.values, filter.limit)
      .map((row) => JSON.parse(row.data) as Run)
  }

  async addRunLog(log: RunLog): Promise<void> {
    this.q.logAdd.run(log.runId, JSON.stringify(log))
  }

  async runLogs(runId: string, offset: number, limit: number): Promise<RunLog[]> {
    return this.q.logList.all(runId, limit, offset).map((row) => JSON.parse(row.data) as RunLog)
  }

  async putApproval(approval: Approval): Promise<void> {
    this.q.approvalPut.run(approval.runId, approval.clientId, JSON.stringify(approval))
  }

  async runApprovals(runId: string): Promise<Approval[]> {
    return this.q.approvalList.all(runId).map((row) => JSON.parse(row.data) as Approval)
  }

  async putWebLink(link: WebSessionRow): Promise<void> {
    this.q.webLinkPut.run(link.tokenHash, link.expiresAt, link.clientId)
  }

  async takeWebLink(tokenHash: string, now: number): Promise<string | undefined> {
    const link = this.q.webLinkTake.get(tokenHash)
    return link && link.expires_at > now ? link.client_id : undefined
  }

  async putWebSession(session: WebSessionRow): Promise<void> {
    this.q.webSessionPut.run(session.tokenHash, session.expiresAt, session.clientId)
  }

  async getWebSession(tokenHash: string, now: number): Promise<WebSessionRow | undefined> {
    const row = this.q.webSessionGet.get(tokenHash, now)
    return row && {clientId: row.client_id, expiresAt: row.expires_at, tokenHash}
  }

  async deleteWebSession(tokenHash: string): Promise<void> {
    this.q.webSessionDelete.run(tokenHash)
  }

  async pruneWebSessions(now: number): Promise<void> {
    this.q.webLinksPrune.run(now)
    this.q.webSessionsPrune.run(now)
  }
}
