import {AsyncLocalStorage} from 'node:async_hooks'

import pg from 'pg'

import type {Action, AuditFilter, AuditRecord, Blueprint, Run, RunFilter, RunLog} from '../../../model/port.js'
import {relationTargets} from '../../../domain/entity-rules.js'
import {PortalNotice} from '../../notice.js'
import {MAX_AUDIT_RECORDS} from '../store.js'
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
import {describeDatabase} from './database-url.js'
import {openError, unavailable} from './errors.js'
import {filterSql} from './filter.js'
import {migrate} from './migrations.js'
import {PostgresSharedState} from './shared-state.js'
import {Where} from './where.js'

/** Where to connect: a `postgres://` URL, else libpq's `PG*` variables (as pg reads them). */
export interface PostgresOptions {
  url?: string | undefined
  /** How the command line takes the URL, for what errors tell people to check. [default: --database-url] */
  urlFlag?: string | undefined
  /** An idle pooled connection that fails (the server restarted) is reported here, as a notice. */
  onError?: ((error: Error) => void) | undefined
}

/** bigint columns (sequences, epoch ms) as numbers: every value they hold is below 2^53. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? Number
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
}

const FINAL = ['SUCCESS', 'FAILURE', 'DECLINED']

/** Any constant, the same in every idp: the advisory lock every write transaction holds. */
export const WRITE_LOCK = 0x1d9_0002

/**
 * A store's open transaction: its pooled client (see PostgresStore.reader) and the definitions
 * (blueprints, automations) it has read, which no other process can change while it holds
 * WRITE_LOCK (see PostgresStore.definition).
 */
interface OpenTransaction {
  store: PostgresStore
  client: pg.PoolClient
  definitions: Map<string, Promise<unknown>>
  /** Whether it wrote anything: a transaction that did not has nothing to make durable. */
  wrote: boolean
}
const inTransaction = new AsyncLocalStorage<OpenTransaction>()

/**
 * The portal's store on PostgreSQL, for a portal that several processes share: a pool of
 * connections, a transaction on one pooled client, jsonb documents with indexed columns for what
 * searches filter on.
 *
 * Write transactions run one at a time across every process on the database, as SQLite's do in
 * one file: each takes WRITE_LOCK (a transaction-scoped advisory lock) first, so the portal's
 * writes, which read, decide and write (relation targets, inherited teams, claims, timers), stay
 * correct with N processes. Reads never wait for it. Within a process, transactions queue
 * before they take a pooled connection, so waiting writes do not hold the pool. Claims and timers
 * also lock their rows (`FOR UPDATE SKIP LOCKED`), so they stay exactly-once without the lock.
 */
export class PostgresStore implements Store {
  /** Never anything to put right, unlike a data directory's permissions. */
  readonly warnings: string[] = []
  private queue: Promise<unknown> = Promise.resolve()
  /** The dedicated LISTEN connection (never a pooled one), once watchRuns or watchWork is called. */
  private listener: Listener | undefined
  readonly shared: PostgresSharedState

  private constructor(
    private readonly pool: pg.Pool,
    private readonly options: PostgresOptions,
  ) {
    this.shared = new PostgresSharedState(pool)
  }

  /** Connects and migrates the schema; refuses a database that a newer idp migrated. */
  static async open(options: PostgresOptions): Promise<PostgresStore> {
    const {pool} = await migrated(options)
    return new PostgresStore(pool, options)
  }

  watchRuns(listener: (runId: string) => void): void {
    this.listen().run = listener
  }

  watchWork(listener: () => void): void {
    this.listen().work = listener
  }

  private listen(): Listeners {
    this.listener ??= new Listener(this.options, {})
    return this.listener.listeners
  }

  /** The open transaction's client inside this store's transaction; the pool elsewhere. */
  private get reader(): pg.Pool | pg.PoolClient {
    const open = inTransaction.getStore()
    return open?.store === this ? open.client : this.pool
  }

  /** Writes run only inside a transaction: a request's changes commit or roll back together. */
  private get writer(): pg.PoolClient {
    const open = inTransaction.getStore()
    if (open?.store !== this) throw new Error('the PostgreSQL store writes only inside store.transaction()')
    return open.client
  }

  /**
   * A definition read once per write transaction: a write reads its blueprint and the automations
   * several times (validation, timers, automations, inherited teams), and no other write can
   * change them while this one holds WRITE_LOCK; this one's own changes forget them. Each caller
   * gets a copy of its own. Outside a transaction, a plain read.
   */
  private async definition<T>(key: string, read: () => Promise<T>): Promise<T> {
    const open = inTransaction.getStore()
    if (open?.store !== this) return read()
    let found = open.definitions.get(key) as Promise<T> | undefined
    if (!found) open.definitions.set(key, (found = read()))
    // A failed read is not kept.
    found.catch(() => open.definitions.delete(key))
    return structuredClone(await found)
  }

  /** A definition changes: this transaction reads them afresh. */
  private forgetDefinitions(): void {
    inTransaction.getStore()?.definitions.clear()
  }

  private async rows<Row extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.reader.query<Row>(sql, params).catch(unavailable)).rows
  }

  private async write<Row extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
    const writer = this.writer
    inTransaction.getStore()!.wrote = true
    return writer.query<Row>(sql, params).catch(unavailable)
  }

  async transaction<T>(work: () => Promise<T>): Promise<T> {
    let wrote = false
    const run = async (): Promise<T> => {
      const client = await this.pool.connect().catch(unavailable)
      let broken: Error | undefined
      try {
        // One round trip (a write pays every round trip while it holds the lock). Its commit does
        // not wait for the disk while holding the lock: durable() waits, after the lock is free.
        await client.query(`BEGIN; SET LOCAL synchronous_commit = off; SELECT pg_advisory_xact_lock(${WRITE_LOCK})`)
        const open: OpenTransaction = {client, definitions: new Map(), store: this, wrote: false}
        const result = await inTransaction.run(open, work)
        await client.query('COMMIT')
        wrote = open.wrote
        return result
      } catch (error) {
        await client.query('ROLLBACK').catch((failed: Error) => (broken = failed))
        return unavailable(error)
      } finally {
        // A client whose connection failed is discarded rather than handed to the next request.
        client.release(broken)
      }
    }
    const next = this.queue.then(run, run)
    this.queue = next.catch(() => undefined)
    const result = await next
    if (wrote) await this.durable()
    return result
  }

  /**
   * Returns once every transaction committed so far is as durable as the database's
   * synchronous_commit makes a commit (on disk, or on a standby, as it says): a transaction with
   * an id of its own commits under that setting, which flushes the log up to its commit record and
   * so every commit before it. Write transactions commit without waiting (see transaction()),
   * so that one write's flush does not hold the write lock for the next; each then waits here,
   * where the writes waiting together share one flush, as concurrent commits do in PostgreSQL.
   * A write is answered only once durable, as with a waiting commit; other sessions may read it a
   * moment before it is, which only a crash of the database server itself could tell.
   */
  private async durable(): Promise<void> {
    await this.pool.query('SELECT txid_current()').catch(unavailable)
  }

  async close(): Promise<void> {
    await this.queue
    await this.listener?.close()
    await this.pool.end()
  }

  async createCredential(credential: Credential): Promise<void> {
    const {clientId, clientSecret, createdAt, email, role, teams} = credential
    await this.write(
      `INSERT INTO credentials (client_id, client_secret, role, created_at, email, teams)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
      [clientId, clientSecret, role, createdAt, email ?? null, JSON.stringify(teams ?? [])],
    )
  }

  async deleteCredential(clientId: string): Promise<boolean> {
    return ((await this.write('DELETE FROM credentials WHERE client_id = $1', [clientId])).rowCount ?? 0) > 0
  }

  async getCredential(clientId: string): Promise<Credential | undefined> {
    const [row] = await this.rows<CredentialRow>('SELECT * FROM credentials WHERE client_id = $1', [clientId])
    return row && credential(row)
  }

  async countCredentials(): Promise<number> {
    return (await this.rows<{n: number}>('SELECT count(*) AS n FROM credentials'))[0]!.n
  }

  async listCredentials(): Promise<Credential[]> {
    return (await this.rows<CredentialRow>('SELECT * FROM credentials ORDER BY seq')).map(credential)
  }

  async adminCredential(): Promise<Credential | undefined> {
    const [row] = await this.rows<CredentialRow>("SELECT * FROM credentials WHERE role = 'admin' ORDER BY seq LIMIT 1")
    return row && credential(row)
  }

  async getSetting(key: string): Promise<unknown> {
    const value = await this.meta(`setting:${key}`)
    return value === undefined ? undefined : (JSON.parse(value) as unknown)
  }

  async putSetting(key: string, value: unknown): Promise<void> {
    await this.write('INSERT INTO meta VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [
      `setting:${key}`,
      JSON.stringify(value),
    ])
  }

  async tokenKey(): Promise<Buffer> {
    return Buffer.from((await this.meta('token_key'))!, 'base64')
  }

  private async meta(key: string): Promise<string | undefined> {
    return (await this.rows<{value: string}>('SELECT value FROM meta WHERE key = $1', [key]))[0]?.value
  }

  async listBlueprints(): Promise<Blueprint[]> {
    return this.definition('blueprints', () => this.documents<Blueprint>('SELECT data FROM blueprints ORDER BY seq'))
  }

  async inheritingBlueprints(): Promise<Blueprint[]> {
    return this.definition('inheriting blueprints', () =>
      this.documents<Blueprint>(
        "SELECT data FROM blueprints WHERE data #>> '{ownership,type}' = 'Inherited' ORDER BY seq",
      ),
    )
  }

  async getBlueprint(identifier: string): Promise<Blueprint | undefined> {
    return this.definition(
      `blueprint ${identifier}`,
      async () =>
        (await this.documents<Blueprint>('SELECT data FROM blueprints WHERE identifier = $1', [identifier]))[0],
    )
  }

  async putBlueprint(blueprint: Blueprint): Promise<void> {
    this.forgetDefinitions()
    await this.write(
      `INSERT INTO blueprints (identifier, data) VALUES ($1, $2::jsonb)
       ON CONFLICT (identifier) DO UPDATE SET data = excluded.data`,
      [blueprint.identifier, JSON.stringify(blueprint)],
    )
  }

  async deleteBlueprint(identifier: string): Promise<void> {
    this.forgetDefinitions()
    await this.write('DELETE FROM blueprints WHERE identifier = $1', [identifier])
  }

  async getEntity(blueprint: string, identifier: string): Promise<StoredEntity | undefined> {
    const found = await this.documents<StoredEntity>(
      'SELECT data FROM entities WHERE blueprint = $1 AND identifier = $2',
      [blueprint, identifier],
    )
    return found[0]
  }

  async existingEntities(blueprint: string, identifiers: string[]): Promise<Set<string>> {
    const rows = await this.rows<{identifier: string}>(
      'SELECT identifier FROM entities WHERE blueprint = $1 AND identifier = ANY($2::text[])',
      [blueprint, [...new Set(identifiers)]],
    )
    return new Set(rows.map((row) => row.identifier))
  }

  /** The entity, its indexed columns and its relation rows, in one statement. */
  async putEntity(entity: StoredEntity, targets: Record<string, string>): Promise<void> {
    const names: string[] = []
    const blueprints: string[] = []
    const identifiers: string[] = []
    for (const [name, value] of Object.entries(entity.relations)) {
      const blueprint = targets[name]
      if (!blueprint) continue
      for (const target of relationTargets(value)) {
        names.push(name)
        blueprints.push(blueprint)
        identifiers.push(target)
      }
    }
    // The statement's parts see one snapshot: the DELETE removes the old relation rows only.
    await this.write(
      `WITH stored AS (
         INSERT INTO entities (blueprint, identifier, team, updated_at, data)
         VALUES ($1, $2, $3::text[], $4::timestamptz, $5::jsonb)
         ON CONFLICT (blueprint, identifier)
         DO UPDATE SET team = excluded.team, updated_at = excluded.updated_at, data = excluded.data
         RETURNING seq),
       cleared AS (DELETE FROM relations WHERE source = (SELECT seq FROM stored))
       INSERT INTO relations (source, name, blueprint, identifier)
       SELECT stored.seq, target.* FROM stored, unnest($6::text[], $7::text[], $8::text[]) AS target`,
      [...entityColumns(entity), names, blueprints, identifiers],
    )
  }

  async unlinkEntity(entity: StoredEntity, removed: RemovedTarget[]): Promise<void> {
    await this.write(
      `WITH stored AS (
         UPDATE entities SET team = $3::text[], updated_at = $4::timestamptz, data = $5::jsonb
         WHERE blueprint = $1 AND identifier = $2 RETURNING seq)
       DELETE FROM relations WHERE source = (SELECT seq FROM stored)
         AND (name, blueprint, identifier) IN (SELECT * FROM unnest($6::text[], $7::text[], $8::text[]))`,
      [
        ...entityColumns(entity),
        removed.map((item) => item.relation),
        removed.map((item) => item.target.blueprint),
        removed.map((item) => item.target.identifier),
      ],
    )
  }

  async deleteEntity(blueprint: string, identifier: string): Promise<void> {
    await this.write('DELETE FROM entities WHERE blueprint = $1 AND identifier = $2', [blueprint, identifier])
  }

  async countEntities(blueprint: string): Promise<number> {
    return (await this.rows<{n: number}>('SELECT count(*) AS n FROM entities WHERE blueprint = $1', [blueprint]))[0]!.n
  }

  /**
   * One query: the filter compiled to SQL, in storage order from the cursor, at most `limit` rows.
   * PostgreSQL stops reading once it has them; the entity's jsonb comes back as its text.
   */
  async searchEntities(options: {
    blueprint?: string | undefined
    filter: EntityFilter
    after?: number
    limit: number
  }): Promise<EntityText[]> {
    const scope = options.blueprint === undefined ? [] : [options.blueprint]
    const {params, sql} = filterSql(options.filter, scope.length + 2)
    const where = scope.length ? 'blueprint = $1 AND' : ''
    return this.rows<EntityText>(
      `SELECT seq, blueprint, data::text AS json FROM entities
       WHERE ${where} seq > $${scope.length + 1} AND ${sql} ORDER BY seq LIMIT $${scope.length + 2}`,
      [...scope, options.after ?? 0, options.limit, ...params],
    )
  }

  async dependents(target: EntityRef): Promise<Dependent[]> {
    return this.rows<Dependent>(
      `SELECT e.blueprint, e.identifier, r.name AS relation FROM relations r JOIN entities e ON e.seq = r.source
       WHERE r.blueprint = $1 AND r.identifier = $2 ORDER BY r.seq`,
      [target.blueprint, target.identifier],
    )
  }

  async relatedTo(source: EntityRef): Promise<EntityRef[]> {
    return this.rows<EntityRef>(
      `SELECT r.blueprint, r.identifier FROM relations r JOIN entities e ON e.seq = r.source
       WHERE e.blueprint = $1 AND e.identifier = $2 ORDER BY r.seq`,
      [source.blueprint, source.identifier],
    )
  }

  async listActions(): Promise<Action[]> {
    return this.documents<Action>('SELECT data FROM actions ORDER BY seq')
  }

  async listAutomations(): Promise<Action[]> {
    return this.definition('automations', () =>
      this.documents<Action>("SELECT data FROM actions WHERE data #>> '{trigger,type}' = 'automation' ORDER BY seq"),
    )
  }

  async getAction(identifier: string): Promise<Action | undefined> {
    return this.definition(
      `action ${identifier}`,
      async () => (await this.documents<Action>('SELECT data FROM actions WHERE identifier = $1', [identifier]))[0],
    )
  }

  async putAction(action: Action): Promise<void> {
    this.forgetDefinitions()
    await this.write(
      `INSERT INTO actions (identifier, data) VALUES ($1, $2::jsonb)
       ON CONFLICT (identifier) DO UPDATE SET data = excluded.data`,
      [action.identifier, JSON.stringify(action)],
    )
  }

  async deleteAction(identifier: string): Promise<void> {
    this.forgetDefinitions()
    await this.write('DELETE FROM actions WHERE identifier = $1', [identifier])
    await this.write('DELETE FROM action_permissions WHERE identifier = $1', [identifier])
  }

  async getActionPermissions(identifier: string): Promise<ActionPermissions | undefined> {
    const found = await this.documents<ActionPermissions>('SELECT data FROM action_permissions WHERE identifier = $1', [
      identifier,
    ])
    return found[0]
  }

  async putActionPermissions(identifier: string, permissions: ActionPermissions): Promise<void> {
    await this.write(
      `INSERT INTO action_permissions VALUES ($1, $2::jsonb)
       ON CONFLICT (identifier) DO UPDATE SET data = excluded.data`,
      [identifier, JSON.stringify(permissions)],
    )
  }

  async getRun(id: string): Promise<Run | undefined> {
    return (await this.documents<Run>('SELECT data FROM runs WHERE id = $1', [id]))[0]
  }

  /** Every process listening hears of the change when this transaction commits (never before). */
  async putRun(run: Run): Promise<void> {
    await this.write(`SELECT pg_notify('${RUN_CHANNEL}', $1)`, [run.id])
    await this.write(
      `INSERT INTO runs (id, action, status, entity, blueprint, external_run_id, created_by, source, data)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, external_run_id = excluded.external_run_id,
         data = excluded.data`,
      [
        run.id,
        run.action.identifier,
        run.status,
        run.entity?.identifier ?? null,
        run.blueprint?.identifier ?? null,
        run.externalRunId ?? null,
        run.createdBy,
        run.source,
        JSON.stringify(run),
      ],
    )
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
    return this.documents<Run>(`SELECT data FROM runs ${where.sql()} ORDER BY seq DESC LIMIT ${where.next()}`, [
      ...where.values,
      filter.limit,
    ])
  }

  async addRunLog(log: RunLog): Promise<void> {
    await this.write('INSERT INTO run_logs (run_id, data) VALUES ($1, $2::jsonb)', [log.runId, JSON.stringify(log)])
  }

  async runLogs(runId: string, offset: number, limit: number): Promise<RunLog[]> {
    return this.documents<RunLog>('SELECT data FROM run_logs WHERE run_id = $1 ORDER BY seq LIMIT $2 OFFSET $3', [
      runId,
      limit,
      offset,
    ])
  }

  async putApproval(approval: Approval): Promise<void> {
    await this.write(
      `INSERT INTO approvals (run_id, client_id, data) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (run_id, client_id) DO UPDATE SET data = excluded.data`,
      [approval.runId, approval.clientId, JSON.stringify(approval)],
    )
  }

  async runApprovals(runId: string): Promise<Approval[]> {
    return this.documents<Approval>('SELECT data FROM approvals WHERE run_id = $1 ORDER BY seq', [runId])
  }

  async putDispatch(dispatch: Dispatch): Promise<void> {
    await this.write(
      `INSERT INTO dispatches (run_id, state, attempts, available_at, claimed_until, installation_id, context)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
       ON CONFLICT (run_id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts,
         available_at = excluded.available_at, claimed_until = excluded.claimed_until,
         installation_id = excluded.installation_id, context = excluded.context,
         lease_owner = NULL, lease_until = NULL`,
      [
        dispatch.runId,
        dispatch.state,
        dispatch.attempts,
        dispatch.availableAt,
        dispatch.claimedUntil ?? null,
        dispatch.installationId ?? null,
        dispatch.context === undefined ? null : JSON.stringify(dispatch.context),
      ],
    )
  }

  async getDispatch(runId: string): Promise<Dispatch | undefined> {
    const [row] = await this.rows<DispatchRow>('SELECT * FROM dispatches WHERE run_id = $1', [runId])
    return row && dispatch(row)
  }

  /** Locks the rows it leases, skipping those another process's claim holds locked. */
  async claimDueDeliveries(claim: Lease & {now: number; limit: number}): Promise<Dispatch[]> {
    const {rows} = await this.write<DispatchRow & {seq: number}>(
      `WITH due AS (
         SELECT seq FROM dispatches WHERE state = 'pending' AND available_at <= $3
           AND (lease_owner IS NULL OR lease_until < $3)
         ORDER BY available_at, seq LIMIT $4 FOR UPDATE SKIP LOCKED)
       UPDATE dispatches SET lease_owner = $1, lease_until = $2 FROM due WHERE dispatches.seq = due.seq
       RETURNING dispatches.*`,
      [claim.owner, claim.until, claim.now, claim.limit],
    )
    return rows.sort((a, b) => a.available_at - b.available_at || a.seq - b.seq).map(dispatch)
  }

  async renewLeases(lease: Lease & {deliveries: string[]; events: number[]}): Promise<void> {
    await this.write(
      `UPDATE dispatches SET lease_until = $1
       WHERE lease_owner = $2 AND state = 'pending' AND run_id = ANY($3::text[])`,
      [lease.until, lease.owner, lease.deliveries],
    )
    await this.write(
      'UPDATE automation_events SET lease_until = $1 WHERE lease_owner = $2 AND seq = ANY($3::bigint[])',
      [lease.until, lease.owner, lease.events],
    )
  }

  /** Other processes hear of released work when this transaction commits, and look for it at once. */
  async releaseLeases(owner?: string): Promise<void> {
    const mine = 'lease_owner IS NOT NULL AND ($1::text IS NULL OR lease_owner = $1)'
    const released =
      ((await this.write(`UPDATE dispatches SET lease_owner = NULL, lease_until = NULL WHERE ${mine}`, [owner ?? null]))
        .rowCount ?? 0) +
      ((
        await this.write(`UPDATE automation_events SET lease_owner = NULL, lease_until = NULL WHERE ${mine}`, [
          owner ?? null,
        ])
      ).rowCount ?? 0)
    if (released > 0) await this.write(`SELECT pg_notify('${WORK_CHANNEL}', '')`)
  }

  /**
   * Locks the claimable rows it reads, skipping those another process's claim holds locked, so
   * that no two claimers get one run; rows of ended runs are closed instead.
   */
  async claimDispatches(claim: Parameters<Store['claimDispatches']>[0]): Promise<Dispatch[]> {
    const {rows} = await this.write<DispatchRow & {status: string | null}>(
      `SELECT d.*, r.status FROM dispatches d LEFT JOIN runs r ON r.id = d.run_id
       WHERE (d.state = 'queued' OR (d.state = 'claimed' AND d.claimed_until < $1))
         AND ($2::text IS NULL OR r.data #>> '{payload,type}' = $2)
         AND d.run_id <> ALL($3::text[])
       ORDER BY d.seq LIMIT $4 FOR UPDATE OF d SKIP LOCKED`,
      [claim.now, claim.invocationMethod ?? null, claim.exclude ?? [], claim.limit],
    )
    const ended = rows.filter((row) => row.status === null || FINAL.includes(row.status))
    const open = rows.filter((row) => !ended.includes(row))
    if (ended.length) {
      await this.write("UPDATE dispatches SET state = 'done' WHERE run_id = ANY($1::text[])", [
        ended.map((row) => row.run_id),
      ])
    }
    if (open.length) {
      await this.write(
        "UPDATE dispatches SET state = 'claimed', claimed_until = $1, installation_id = $2 WHERE run_id = ANY($3::text[])",
        [claim.until, claim.installationId, open.map((row) => row.run_id)],
      )
    }
    return open.map((row) => ({
      ...dispatch(row),
      claimedUntil: claim.until,
      installationId: claim.installationId,
      state: 'claimed',
    }))
  }

  async nextDispatchAt(): Promise<number | undefined> {
    const [row] = await this.rows<{at: number | null}>(
      // A leased delivery can be claimed once its lease has lapsed (the claim wants lease_until < now).
      `SELECT min(CASE WHEN lease_owner IS NULL THEN available_at ELSE greatest(available_at, lease_until + 1) END)
         AS at FROM dispatches WHERE state = 'pending'`,
    )
    return row?.at ?? undefined
  }

  async queueAutomationEvent(event: Omit<AutomationEvent, 'seq'>): Promise<void> {
    await this.write('INSERT INTO automation_events (automation, event, depth) VALUES ($1, $2::jsonb, $3)', [
      event.automation,
      JSON.stringify(event.event),
      event.depth,
    ])
  }

  async claimAutomationEvents(claim: Lease & {now: number; limit: number}): Promise<AutomationEvent[]> {
    const {rows} = await this.write<AutomationEvent>(
      `WITH free AS (
         SELECT seq FROM automation_events WHERE lease_owner IS NULL OR lease_until < $3
         ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED)
       UPDATE automation_events SET lease_owner = $1, lease_until = $2 FROM free
       WHERE automation_events.seq = free.seq
       RETURNING automation_events.seq, automation, event, depth`,
      [claim.owner, claim.until, claim.now, claim.limit],
    )
    return rows.sort((a, b) => a.seq - b.seq)
  }

  async deleteAutomationEvent(seq: number): Promise<boolean> {
    return ((await this.write('DELETE FROM automation_events WHERE seq = $1', [seq])).rowCount ?? 0) > 0
  }

  /** One INSERT for the whole batch; every thousandth record trims the log with one range delete. */
  async addAudits(records: AuditRecord[]): Promise<void> {
    if (records.length === 0) return
    const columns = (record: AuditRecord) => [
      record.identifier,
      record.trigger.at,
      record.resourceType,
      record.action,
      record.status,
      record.context.blueprint ?? null,
      record.context.entity ?? null,
      record.context.runId ?? null,
      JSON.stringify(record),
    ]
    const values = records.map(
      (_, row) => `(${Array.from({length: 9}, (__, column) => `$${row * 9 + column + 1}`).join(', ')}::jsonb)`,
    )
    const {rows} = await this.write<{seq: number}>(
      `INSERT INTO audits (identifier, at, resource_type, action, status, blueprint, entity, run_id, data)
       VALUES ${values.join(', ')} RETURNING seq`,
      records.flatMap(columns),
    )
    const crossed = rows.map((row) => row.seq).filter((seq) => seq % 1000 === 0)
    if (crossed.length)
      await this.write('DELETE FROM audits WHERE seq <= $1', [Math.max(...crossed) - MAX_AUDIT_RECORDS])
  }

  async audits(filter: AuditFilter): Promise<AuditRecord[]> {
    const where = new Where()
      .equal('identifier', filter.identifier)
      .equal('entity', filter.entity)
      .equal('blueprint', filter.blueprint)
      .equal('run_id', filter.runId)
      .equal('action', filter.action)
      .equal('status', filter.status)
      .compare('at >=', filter.from)
      .compare('at <=', filter.to)
      .oneOf('resource_type', filter.resources)
    return this.documents<AuditRecord>(
      `SELECT data FROM audits ${where.sql()} ORDER BY seq DESC LIMIT ${where.next()}`,
      [...where.values, filter.limit],
    )
  }

  async setTimers(blueprint: string, entity: string, timers: Timer[]): Promise<void> {
    const {rows} = await this.write<TimerRow & {fired_at: number | null}>(
      'DELETE FROM timers WHERE blueprint = $1 AND entity = $2 RETURNING *',
      [blueprint, entity],
    )
    // A timer keeps its "fired" mark while its expiry stays the same, so it never fires twice.
    const fired = (timer: Timer) =>
      rows.find((row) => row.property === timer.property && row.expires_at === timer.expiresAt)?.fired_at ?? null
    if (timers.length === 0) return
    await this.write(
      `INSERT INTO timers (blueprint, entity, property, expires_at, fired_at)
       SELECT $1, $2, * FROM unnest($3::text[], $4::bigint[], $5::bigint[])`,
      [
        blueprint,
        entity,
        timers.map((timer) => timer.property),
        timers.map((timer) => timer.expiresAt),
        timers.map(fired),
      ],
    )
  }

  /** Claims the due timers it marks (skipping those another process is firing), soonest first. */
  async fireDueTimers(now: number, limit: number): Promise<Timer[]> {
    const {rows} = await this.write<TimerRow>(
      `WITH due AS (
         SELECT blueprint, entity, property FROM timers WHERE fired_at IS NULL AND expires_at <= $1
         ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE timers SET fired_at = $1 FROM due
       WHERE timers.blueprint = due.blueprint AND timers.entity = due.entity AND timers.property = due.property
       RETURNING timers.*`,
      [now, limit],
    )
    return rows
      .map((row) => ({blueprint: row.blueprint, entity: row.entity, expiresAt: row.expires_at, property: row.property}))
      .sort((a, b) => a.expiresAt - b.expiresAt)
  }

  async nextTimerAt(): Promise<number | undefined> {
    const [row] = await this.rows<{at: number | null}>(
      'SELECT min(expires_at) AS at FROM timers WHERE fired_at IS NULL',
    )
    return row?.at ?? undefined
  }

  async putWebLink(link: WebSessionRow): Promise<void> {
    await this.write(
      'INSERT INTO web_links (token_hash, client_id, expires_at) SELECT $1, client_id, $3 FROM credentials WHERE client_id = $2',
      [link.tokenHash, link.clientId, link.expiresAt],
    )
  }

  /** One DELETE: of two processes taking one link at once, the second finds no row. */
  async takeWebLink(tokenHash: string, now: number): Promise<string | undefined> {
    const {rows} = await this.write<{client_id: string; expires_at: number}>(
      'DELETE FROM web_links WHERE token_hash = $1 RETURNING client_id, expires_at',
      [tokenHash],
    )
    const [link] = rows
    return link && link.expires_at > now ? link.client_id : undefined
  }

  async putWebSession(session: WebSessionRow): Promise<void> {
    await this.write(
      'INSERT INTO web_sessions (token_hash, client_id, expires_at) SELECT $1, client_id, $3 FROM credentials WHERE client_id = $2',
      [session.tokenHash, session.clientId, session.expiresAt],
    )
  }

  async getWebSession(tokenHash: string, now: number): Promise<WebSessionRow | undefined> {
    const [row] = await this.rows<{client_id: string; expires_at: number}>(
      'SELECT client_id, expires_at FROM web_sessions WHERE token_hash = $1 AND expires_at > $2',
      [tokenHash, now],
    )
    return row && {clientId: row.client_id, expiresAt: row.expires_at, tokenHash}
  }

  async deleteWebSession(tokenHash: string): Promise<void> {
    await this.write('DELETE FROM web_sessions WHERE token_hash = $1', [tokenHash])
  }

  async pruneWebSessions(now: number): Promise<void> {
    await this.write('DELETE FROM web_links WHERE expires_at <= $1', [now])
    await this.write('DELETE FROM web_sessions WHERE expires_at <= $1', [now])
  }

  private async documents<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.rows<{data: T}>(sql, params)).map((row) => row.data)
  }
}

/** Where run changes are announced: the payload is the run's id (well under NOTIFY's 8,000 bytes). */
const RUN_CHANNEL = 'idp_run_changed'
/** Where released leases are announced (no payload): background work elsewhere looks again. */
const WORK_CHANNEL = 'idp_work_released'

/** What the LISTEN connection tells (see Store.watchRuns and Store.watchWork). */
interface Listeners {
  run?: (runId: string) => void
  work?: () => void
}

/**
 * LISTENs on a connection of its own. When that connection drops it reconnects, backing off from
 * 0.5 s to 30 s; changes announced meanwhile are not heard, so once it listens again it tells the
 * work listener (background work looks again), and watchers see run changes when their wait ends
 * (at most 30 s), as they re-read the run.
 */
class Listener {
  private client: pg.Client | undefined
  private closed = false
  private retryMs = RETRY_MIN_MS
  private interrupted = false

  constructor(
    private readonly options: PostgresOptions,
    readonly listeners: Listeners,
  ) {
    void this.connect()
  }

  private async connect(): Promise<void> {
    if (this.closed) return
    const client = new pg.Client({
      application_name: 'idp portal (listen)',
      connectionString: this.options.url,
      connectionTimeoutMillis: 5_000,
      types,
    })
    this.client = client
    client.on('notification', (message) => {
      if (message.channel === WORK_CHANNEL) this.listeners.work?.()
      else if (message.payload) this.listeners.run?.(message.payload)
    })
    let retried = false
    const retry = () => {
      if (retried || this.closed) return
      retried = true
      this.interrupted = true
      client.removeAllListeners('notification')
      void client.end().catch(() => undefined)
      setTimeout(() => void this.connect(), this.retryMs).unref()
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS)
    }
    client.on('error', retry)
    client.on('end', retry)
    try {
      await client.connect()
      await client.query(`LISTEN ${RUN_CHANNEL}; LISTEN ${WORK_CHANNEL}`)
      this.retryMs = RETRY_MIN_MS
      if (this.interrupted) this.listeners.work?.()
      this.interrupted = false
    } catch {
      retry()
    }
  }

  async close(): Promise<void> {
    this.closed = true
    await this.client?.end().catch(() => undefined)
  }
}

const RETRY_MIN_MS = 500
const RETRY_MAX_MS = 30_000

/**
 * A pool on a database whose schema is up to date. Errors come out for the CLI: the database
 * described without its password, with what to do.
 */
export async function migrated(options: PostgresOptions): Promise<{pool: pg.Pool; from: number; to: number}> {
  const pool = connect(options)
  try {
    const client = await pool.connect()
    try {
      return {pool, ...(await migrate(client))}
    } finally {
      client.release()
    }
  } catch (error) {
    await pool.end()
    throw openError(error, describeDatabase(options.url), options.urlFlag)
  }
}

/** A pool that reports (rather than throws) its idle connections' failures. */
export function connect(options: PostgresOptions): pg.Pool {
  const pool = new pg.Pool({
    application_name: 'idp portal',
    connectionString: options.url,
    // An unreachable server fails a request within seconds instead of hanging it.
    connectionTimeoutMillis: 5_000,
    // One stuck request must not hold locks or connections for ever.
    idle_in_transaction_session_timeout: 60_000,
    statement_timeout: 30_000,
    types,
  })
  pool.on('error', (error) =>
    options.onError?.(
      new PortalNotice(`a database connection closed (${error.message}); the next request opens another`),
    ),
  )
  return pool
}

/** The values of `entities`' columns $1–$5: blueprint, identifier, team, updated_at, data. */
export function entityColumns(entity: StoredEntity): unknown[] {
  const updatedAt = entity.updatedAt === undefined ? Number.NaN : Date.parse(entity.updatedAt)
  return [
    entity.blueprint,
    entity.identifier,
    entity.team ?? [],
    Number.isNaN(updatedAt) ? null : new Date(updatedAt).toISOString(),
    JSON.stringify(entity),
  ]
}

interface CredentialRow {
  client_id: string
  client_secret: string
  role: string
  created_at: string
  email: string | null
  teams: string[]
}

interface DispatchRow {
  run_id: string
  state: Dispatch['state']
  attempts: number
  available_at: number
  claimed_until: number | null
  installation_id: string | null
  context: unknown
}

interface TimerRow {
  blueprint: string
  entity: string
  property: string
  expires_at: number
}

function credential(row: CredentialRow): Credential {
  return {
    clientId: row.client_id,
    clientSecret: row.client_secret,
    createdAt: row.created_at,
    email: row.email ?? `${row.client_id}@clients`,
    role: row.role === 'admin' || row.role === 'agent' ? row.role : 'member',
    teams: row.teams,
  }
}

function dispatch(row: DispatchRow): Dispatch {
  return {
    attempts: row.attempts,
    availableAt: row.available_at,
    claimedUntil: row.claimed_until ?? undefined,
    context: row.context === null ? undefined : row.context,
    installationId: row.installation_id ?? undefined,
    runId: row.run_id,
    state: row.state,
  }
}
