import {AsyncLocalStorage} from 'node:async_hooks'
import {randomBytes} from 'node:crypto'
import {chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync} from 'node:fs'
import {join} from 'node:path'

import type Database from 'better-sqlite3'

import {breathe} from '../../shared/breathe.js'
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
} from '../../model/port.js'
import {relationTargets} from '../../catalog/entity-rules.js'
import {filterSql} from './sqlite-filter.js'
import {loadSqlite} from './sqlite-module.js'
import {MAX_AUDIT_RECORDS} from './store.js'
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
  RemovedTarget,
  Store,
  StoredEntity,
  Timer,
} from './store.js'

/** The schema of the first releases (before schema versions were recorded). */
const SCHEMA_1 = `
CREATE TABLE IF NOT EXISTS credentials (
  client_id TEXT PRIMARY KEY, client_secret TEXT NOT NULL, role TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, client_id TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tokens_by_client ON tokens (client_id, expires_at);
CREATE TABLE IF NOT EXISTS blueprints (seq INTEGER PRIMARY KEY, identifier TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entities (
  seq INTEGER PRIMARY KEY, blueprint TEXT NOT NULL, identifier TEXT NOT NULL, data TEXT NOT NULL,
  UNIQUE (blueprint, identifier));
CREATE TABLE IF NOT EXISTS relations (
  source INTEGER NOT NULL REFERENCES entities (seq) ON DELETE CASCADE,
  name TEXT NOT NULL, blueprint TEXT NOT NULL, identifier TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS relations_by_source ON relations (source);
CREATE INDEX IF NOT EXISTS relations_by_target ON relations (blueprint, identifier);
CREATE TABLE IF NOT EXISTS actions (seq INTEGER PRIMARY KEY, identifier TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, action TEXT NOT NULL, status TEXT NOT NULL,
  entity TEXT, blueprint TEXT, external_run_id TEXT, created_by TEXT NOT NULL, source TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_by_action ON runs (action, seq);
CREATE TABLE IF NOT EXISTS run_logs (seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS run_logs_by_run ON run_logs (run_id, seq);
CREATE TABLE IF NOT EXISTS dispatches (
  seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL UNIQUE, state TEXT NOT NULL, attempts INTEGER NOT NULL,
  available_at INTEGER NOT NULL, claimed_until INTEGER, installation_id TEXT, context TEXT);
CREATE INDEX IF NOT EXISTS dispatches_by_state ON dispatches (state, available_at);
CREATE TABLE IF NOT EXISTS timers (
  blueprint TEXT NOT NULL, entity TEXT NOT NULL, property TEXT NOT NULL, expires_at INTEGER NOT NULL,
  fired_at INTEGER, PRIMARY KEY (blueprint, entity, property));
CREATE INDEX IF NOT EXISTS timers_due ON timers (fired_at, expires_at);
CREATE TABLE IF NOT EXISTS action_permissions (identifier TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS approvals (
  seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, client_id TEXT NOT NULL, data TEXT NOT NULL,
  UNIQUE (run_id, client_id));
`

/**
 * Schema migrations, in order: the database's `user_version` says how many have run. Each runs in
 * a transaction with its version bump. Append only; never edit one that has shipped.
 */
const MIGRATIONS: ((db: Database.Database) => void)[] = [
  // 1: the first schema. Databases made before versions were recorded have it already, perhaps
  // without the columns added along the way.
  (db) => {
    db.exec(SCHEMA_1)
    const columns = (table: string) =>
      db
        .prepare<[], {name: string}>(`PRAGMA table_info(${table})`)
        .all()
        .map((row) => row.name)
    if (!columns('credentials').includes('email')) db.exec('ALTER TABLE credentials ADD COLUMN email TEXT')
    if (!columns('credentials').includes('teams'))
      db.exec("ALTER TABLE credentials ADD COLUMN teams TEXT NOT NULL DEFAULT '[]'")
    if (!columns('tokens').includes('run_id')) db.exec('ALTER TABLE tokens ADD COLUMN run_id TEXT')
  },
  // 2: automation events whose jq conditions are evaluated outside the write that caused them.
  (db) => {
    db.exec(
      'CREATE TABLE automation_events (seq INTEGER PRIMARY KEY, automation TEXT NOT NULL, event TEXT NOT NULL, depth INTEGER NOT NULL)',
    )
  },
  // 3: access tokens are signed with a key of the portal's instead of stored.
  (db) => {
    db.exec('DROP TABLE tokens; CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)')
    db.prepare("INSERT INTO meta VALUES ('token_key', ?)").run(randomBytes(32).toString('base64'))
  },
  // 4: the audit log; `data` is the record as answered. Indexed for what members ask (an entity, a
  // run); admins' other filters scan, which keeps every write's cost down.
  (db) => {
    db.exec(`CREATE TABLE audits (seq INTEGER PRIMARY KEY, identifier TEXT NOT NULL UNIQUE, at TEXT NOT NULL,
      resource_type TEXT NOT NULL, action TEXT NOT NULL, status TEXT NOT NULL, blueprint TEXT, entity TEXT,
      run_id TEXT, data TEXT NOT NULL);
      CREATE INDEX audits_by_entity ON audits (entity, blueprint);
      CREATE INDEX audits_by_run ON audits (run_id) WHERE run_id IS NOT NULL;`)
  },
  // 5: a blueprint's entities in storage order (scans and searches page by seq; the unique index
  // orders by identifier, which made every page sort the whole blueprint), and every stored entity
  // in its wire form, so that answers embed the stored text as it is.
  (db) => {
    db.exec(`CREATE INDEX entities_by_blueprint ON entities (blueprint, seq);
      UPDATE entities SET data = json_set(data, '$.team', json('[]')) WHERE data -> '$.team' IS NULL;`)
  },
]

/** A WHERE clause built from optional filters; each value is a bound parameter, never SQL text. */
class Where {
  private readonly clauses: string[] = []
  readonly values: unknown[] = []

  /** `column = value`, when the value is given. */
  equal(column: string, value: string | undefined): this {
    return value ? this.clause(`${column} = ?`, value) : this
  }

  /** `column IN (…)`, when the list is not empty. */
  oneOf(column: string, values: string[] | undefined): this {
    if (values?.length) {
      this.clauses.push(`${column} IN (${values.map(() => '?').join(', ')})`)
      this.values.push(...values)
    }
    return this
  }

  /** A clause with at most one parameter; skipped when that parameter is missing. */
  clause(sql: string, ...value: [string | undefined] | []): this {
    if (value.length === 0) this.clauses.push(sql)
    else if (value[0]) {
      this.clauses.push(sql)
      this.values.push(value[0])
    }
    return this
  }

  sql(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : ''
  }
}

/** How many entities a search examines in one synchronous step. */
const SEARCH_WINDOW = 1000

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', {simple: true}) as number
  if (version > MIGRATIONS.length) {
    throw new Error(`this portal database has schema version ${version}, newer than this idp knows; upgrade idp`)
  }
  for (let next = version; next < MIGRATIONS.length; next++) {
    db.transaction(() => {
      MIGRATIONS[next]!(db)
      db.pragma(`user_version = ${next + 1}`)
    })()
  }
}

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

  async dueDispatches(now: number, limit: number, exclude: string[] = []): Promise<Dispatch[]> {
    return this.q.dispatchDue.all(now, JSON.stringify(exclude), limit).map(dispatch)
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

  async automationEvents(limit: number): Promise<AutomationEvent[]> {
    return this.q.automationEventList.all(limit).map((row) => ({
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

  async deleteAutomationEvent(seq: number): Promise<void> {
    this.q.automationEventDelete.run(seq)
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
}

interface CredentialRow {
  client_id: string
  client_secret: string
  role: string
  created_at: string
  email: string | null
  teams: string
}

interface DispatchRow {
  run_id: string
  state: Dispatch['state']
  attempts: number
  available_at: number
  claimed_until: number | null
  installation_id: string | null
  context: string | null
}

interface TimerRow {
  blueprint: string
  entity: string
  property: string
  expires_at: number
  fired_at: number | null
}

function credential(row: CredentialRow): Credential {
  return {
    clientId: row.client_id,
    clientSecret: row.client_secret,
    createdAt: row.created_at,
    email: row.email ?? `${row.client_id}@clients`,
    role: row.role === 'admin' || row.role === 'agent' ? row.role : 'member',
    teams: JSON.parse(row.teams ?? '[]') as string[],
  }
}

function dispatch(row: DispatchRow): Dispatch {
  return {
    attempts: row.attempts,
    availableAt: row.available_at,
    claimedUntil: row.claimed_until ?? undefined,
    context: row.context === null ? undefined : (JSON.parse(row.context) as unknown),
    installationId: row.installation_id ?? undefined,
    runId: row.run_id,
    state: row.state,
  }
}

/** Every statement the store runs, prepared once per connection. */
function statements(db: Database.Database) {
  return {
    actionDelete: db.prepare('DELETE FROM actions WHERE identifier = ?'),
    actionPermissionsDelete: db.prepare('DELETE FROM action_permissions WHERE identifier = ?'),
    actionPermissionsGet: db.prepare<[string], {data: string}>(
      'SELECT data FROM action_permissions WHERE identifier = ?',
    ),
    actionPermissionsPut: db.prepare(
      'INSERT INTO action_permissions VALUES (?, ?) ON CONFLICT (identifier) DO UPDATE SET data = excluded.data',
    ),
    approvalList: db.prepare<[string], {data: string}>('SELECT data FROM approvals WHERE run_id = ? ORDER BY seq'),
    approvalPut: db.prepare(
      'INSERT INTO approvals (run_id, client_id, data) VALUES (?, ?, ?) ON CONFLICT (run_id, client_id) DO UPDATE SET data = excluded.data',
    ),
    actionGet: db.prepare<[string], {data: string}>('SELECT data FROM actions WHERE identifier = ?'),
    actionList: db.prepare<[], {data: string}>('SELECT data FROM actions ORDER BY seq'),
    // Every write looks for automations and inheriting blueprints: SQLite picks them out of the
    // JSON, so a write does not parse every action and blueprint of the portal.
    automationList: db.prepare<[], {data: string}>(
      "SELECT data FROM actions WHERE data ->> '$.trigger.type' = 'automation' ORDER BY seq",
    ),
    inheritingBlueprints: db.prepare<[], {data: string}>(
      "SELECT data FROM blueprints WHERE data ->> '$.ownership.type' = 'Inherited' ORDER BY seq",
    ),
    actionPut: db.prepare(
      'INSERT INTO actions (identifier, data) VALUES (?, ?) ON CONFLICT (identifier) DO UPDATE SET data = excluded.data',
    ),
    logAdd: db.prepare('INSERT INTO run_logs (run_id, data) VALUES (?, ?)'),
    logList: db.prepare<[string, number, number], {data: string}>(
      'SELECT data FROM run_logs WHERE run_id = ? ORDER BY seq LIMIT ? OFFSET ?',
    ),
    runGet: db.prepare<[string], {data: string}>('SELECT data FROM runs WHERE id = ?'),
    runPut: db.prepare(
      `INSERT INTO runs (id, action, status, entity, blueprint, external_run_id, created_by, source, data)
       VALUES (@id, @action, @status, @entity, @blueprint, @externalRunId, @createdBy, @source, @data)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, external_run_id = excluded.external_run_id, data = excluded.data`,
    ),
    blueprintDelete: db.prepare('DELETE FROM blueprints WHERE identifier = ?'),
    blueprintGet: db.prepare<[string], {data: string}>('SELECT data FROM blueprints WHERE identifier = ?'),
    blueprintList: db.prepare<[], {data: string}>('SELECT data FROM blueprints ORDER BY seq'),
    blueprintPut: db.prepare(
      'INSERT INTO blueprints (identifier, data) VALUES (?, ?) ON CONFLICT (identifier) DO UPDATE SET data = excluded.data',
    ),
    credentialCount: db.prepare<[], {n: number}>('SELECT count(*) AS n FROM credentials'),
    credentialDelete: db.prepare('DELETE FROM credentials WHERE client_id = ?'),
    credentialGet: db.prepare<[string], CredentialRow>('SELECT * FROM credentials WHERE client_id = ?'),
    credentialList: db.prepare<[], CredentialRow>('SELECT * FROM credentials ORDER BY rowid'),
    credentialPut: db.prepare(
      'INSERT INTO credentials (client_id, client_secret, role, created_at, email, teams) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    dispatchClaimable: db.prepare<
      [number, string | null, string | null, string, number],
      DispatchRow & {status: string | null}
    >(
      `SELECT d.*, r.status FROM dispatches d LEFT JOIN runs r ON r.id = d.run_id
       WHERE (d.state = 'queued' OR (d.state = 'claimed' AND d.claimed_until < ?))
         AND (? IS NULL OR json_extract(r.data, '$.payload.type') = ?)
         AND d.run_id NOT IN (SELECT value FROM json_each(?))
       ORDER BY d.seq LIMIT ?`,
    ),
    automationEventDelete: db.prepare('DELETE FROM automation_events WHERE seq = ?'),
    auditAdd: db.prepare(
      `INSERT INTO audits (identifier, at, resource_type, action, status, blueprint, entity, run_id, data)
       VALUES (@identifier, @at, @resourceType, @action, @status, @blueprint, @entity, @runId, @data)`,
    ),
    auditTrim: db.prepare<[number]>('DELETE FROM audits WHERE seq <= ?'),
    automationEventList: db.prepare<[number], {seq: number; automation: string; event: string; depth: number}>(
      'SELECT * FROM automation_events ORDER BY seq LIMIT ?',
    ),
    automationEventPut: db.prepare('INSERT INTO automation_events (automation, event, depth) VALUES (?, ?, ?)'),
    metaGet: db.prepare<[string], {value: string}>('SELECT value FROM meta WHERE key = ?'),
    metaPut: db.prepare('INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    dispatchClaim: db.prepare(
      "UPDATE dispatches SET state = 'claimed', claimed_until = ?, installation_id = ? WHERE run_id = ?",
    ),
    dispatchState: db.prepare('UPDATE dispatches SET state = ? WHERE run_id = ?'),
    dispatchDue: db.prepare<[number, string, number], DispatchRow>(
      `SELECT * FROM dispatches WHERE state = 'pending' AND available_at <= ?
         AND run_id NOT IN (SELECT value FROM json_each(?)) ORDER BY available_at, seq LIMIT ?`,
    ),
    dispatchGet: db.prepare<[string], DispatchRow>('SELECT * FROM dispatches WHERE run_id = ?'),
    dispatchNext: db.prepare<[], {at: number | null}>(
      "SELECT min(available_at) AS at FROM dispatches WHERE state = 'pending'",
    ),
    dispatchPut: db.prepare(
      `INSERT INTO dispatches (run_id, state, attempts, available_at, claimed_until, installation_id, context)
       VALUES (@runId, @state, @attempts, @availableAt, @claimedUntil, @installationId, @context)
       ON CONFLICT (run_id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts,
         available_at = excluded.available_at, claimed_until = excluded.claimed_until,
         installation_id = excluded.installation_id, context = excluded.context`,
    ),
    timerDelete: db.prepare('DELETE FROM timers WHERE blueprint = ? AND entity = ?'),
    timerDue: db.prepare<[number, number], TimerRow>(
      'SELECT * FROM timers WHERE fired_at IS NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?',
    ),
    timerFire: db.prepare(
      'UPDATE timers SET fired_at = ? WHERE blueprint = ? AND entity = ? AND property = ? AND expires_at = ?',
    ),
    timerGet: db.prepare<[string, string, string], TimerRow>(
      'SELECT * FROM timers WHERE blueprint = ? AND entity = ? AND property = ?',
    ),
    timerNext: db.prepare<[], {at: number | null}>('SELECT min(expires_at) AS at FROM timers WHERE fired_at IS NULL'),
    timerPut: db.prepare('INSERT INTO timers VALUES (?, ?, ?, ?, ?)'),
    credentialAdmin: db.prepare<[], {client_id: string}>(
      "SELECT client_id FROM credentials WHERE role = 'admin' ORDER BY rowid LIMIT 1",
    ),
    dependents: db.prepare<[string, string], {blueprint: string; identifier: string; relation: string}>(
      `SELECT e.blueprint, e.identifier, r.name AS relation FROM relations r JOIN entities e ON e.seq = r.source
       WHERE r.blueprint = ? AND r.identifier = ?`,
    ),
    entityCount: db.prepare<[string], {n: number}>('SELECT count(*) AS n FROM entities WHERE blueprint = ?'),
    entityDelete: db.prepare('DELETE FROM entities WHERE blueprint = ? AND identifier = ?'),
    entityGet: db.prepare<[string, string], {data: string}>(
      'SELECT data FROM entities WHERE blueprint = ? AND identifier = ?',
    ),
    entityPut: db.prepare<[string, string, string], {seq: number}>(
      `INSERT INTO entities (blueprint, identifier, data) VALUES (?, ?, ?)
       ON CONFLICT (blueprint, identifier) DO UPDATE SET data = excluded.data RETURNING seq`,
    ),
    relationInsert: db.prepare('INSERT INTO relations VALUES (?, ?, ?, ?)'),
    relationDelete: db.prepare(
      `DELETE FROM relations WHERE source = (SELECT seq FROM entities WHERE blueprint = ? AND identifier = ?)
       AND name = ? AND blueprint = ? AND identifier = ?`,
    ),
    entityData: db.prepare('UPDATE entities SET data = ? WHERE blueprint = ? AND identifier = ?'),
    relationsClear: db.prepare('DELETE FROM relations WHERE source = ?'),
    relatedTo: db.prepare<[string, string], {blueprint: string; identifier: string}>(
      `SELECT r.blueprint, r.identifier FROM relations r JOIN entities e ON e.seq = r.source
       WHERE e.blueprint = ? AND e.identifier = ?`,
    ),
    windowEndAll: db.prepare<[number, number], {seq: number}>(
      'SELECT seq FROM entities WHERE seq > ? ORDER BY seq LIMIT 1 OFFSET ?',
    ),
    windowEndBlueprint: db.prepare<[string, number, number], {seq: number}>(
      'SELECT seq FROM entities WHERE blueprint = ? AND seq > ? ORDER BY seq LIMIT 1 OFFSET ?',
    ),
  }
}
type Statements = ReturnType<typeof statements>
