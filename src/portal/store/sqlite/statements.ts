import type Database from 'better-sqlite3'

import type {Credential, Dispatch} from '../store.js'

/** A WHERE clause built from optional filters; each value is a bound parameter, never SQL text. */
export class Where {
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

interface AutomationEventRow {
  seq: number
  automation: string
  event: string
  depth: number
}

interface TimerRow {
  blueprint: string
  entity: string
  property: string
  expires_at: number
  fired_at: number | null
}

export function credential(row: CredentialRow): Credential {
  return {
    clientId: row.client_id,
    clientSecret: row.client_secret,
    createdAt: row.created_at,
    email: row.email ?? `${row.client_id}@clients`,
    role: row.role === 'admin' || row.role === 'agent' ? row.role : 'member',
    teams: JSON.parse(row.teams ?? '[]') as string[],
  }
}

export function dispatch(row: DispatchRow): Dispatch {
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

/** What the store does with a prepared statement (better-sqlite3's own type cannot be named in a declaration). */
export interface Statement<P extends unknown[], R> {
  run(...params: P): Database.RunResult
  get(...params: P): R | undefined
  all(...params: P): R[]
}

function preparer(db: Database.Database) {
  return <P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R> => db.prepare<P, R>(sql)
}

/** Every statement the store runs, prepared once per connection. */
export function statements(db: Database.Database) {
  const prepare = preparer(db)
  return {
    actionDelete: prepare('DELETE FROM actions WHERE identifier = ?'),
    actionPermissionsDelete: prepare('DELETE FROM action_permissions WHERE identifier = ?'),
    actionPermissionsGet: prepare<[string], {data: string}>('SELECT data FROM action_permissions WHERE identifier = ?'),
    actionPermissionsPut: prepare(
      'INSERT INTO action_permissions VALUES (?, ?) ON CONFLICT (identifier) DO UPDATE SET data = excluded.data',
    ),
    approvalList: prepare<[string], {data: string}>('SELECT data FROM approvals WHERE run_id = ? ORDER BY seq'),
    approvalPut: prepare(
      'INSERT INTO approvals (run_id, client_id, data) VALUES (?, ?, ?) ON CONFLICT (run_id, client_id) DO UPDATE SET data = excluded.data',
    ),
    actionGet: prepare<[string], {data: string}>('SELECT data FROM actions WHERE identifier = ?'),
    actionList: prepare<[], {data: string}>('SELECT data FROM actions ORDER BY seq'),
    // Every write looks for automations and inheriting blueprints: SQLite picks them out of the
    // JSON, so a write does not parse every action and blueprint of the portal.
    automationList: prepare<[], {data: string}>(
      "SELECT data FROM actions WHERE data ->> '$.trigger.type' = 'automation' ORDER BY seq",
    ),
    inheritingBlueprints: prepare<[], {data: string}>(
      "SELECT data FROM blueprints WHERE data ->> '$.ownership.type' = 'Inherited' ORDER BY seq",
    ),
    actionPut: prepare(
      'INSERT INTO actions (identifier, data) VALUES (?, ?) ON CONFLICT (identifier) DO UPDATE SET data = excluded.data',
    ),
    logAdd: prepare('INSERT INTO run_logs (run_id, data) VALUES (?, ?)'),
    logList: prepare<[string, number, number], {data: string}>(
      'SELECT data FROM run_logs WHERE run_id = ? ORDER BY seq LIMIT ? OFFSET ?',
    ),
    runGet: prepare<[string], {data: string}>('SELECT data FROM runs WHERE id = ?'),
    runPut: prepare(
      `INSERT INTO runs (id, action, status, entity, blueprint, external_run_id, created_by, source, data)
       VALUES (@id, @action, @status, @entity, @blueprint, @externalRunId, @createdBy, @source, @data)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, external_run_id = excluded.external_run_id, data = excluded.data`,
    ),
    blueprintDelete: prepare('DELETE FROM blueprints WHERE identifier = ?'),
    blueprintGet: prepare<[string], {data: string}>('SELECT data FROM blueprints WHERE identifier = ?'),
    blueprintList: prepare<[], {data: string}>('SELECT data FROM blueprints ORDER BY seq'),
    blueprintPut: prepare(
      'INSERT INTO blueprints (identifier, data) VALUES (?, ?) ON CONFLICT (identifier) DO UPDATE SET data = excluded.data',
    ),
    credentialCount: prepare<[], {n: number}>('SELECT count(*) AS n FROM credentials'),
    credentialDelete: prepare('DELETE FROM credentials WHERE client_id = ?'),
    credentialGet: prepare<[string], CredentialRow>('SELECT * FROM credentials WHERE client_id = ?'),
    credentialList: prepare<[], CredentialRow>('SELECT * FROM credentials ORDER BY rowid'),
    credentialPut: prepare(
      'INSERT INTO credentials (client_id, client_secret, role, created_at, email, teams) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    dispatchClaimable: prepare<
      [number, string | null, string | null, string, number],
      DispatchRow & {status: string | null}
    >(
      `SELECT d.*, r.status FROM dispatches d LEFT JOIN runs r ON r.id = d.run_id
       WHERE (d.state = 'queued' OR (d.state = 'claimed' AND d.claimed_until < ?))
         AND (? IS NULL OR json_extract(r.data, '$.payload.type') = ?)
         AND d.run_id NOT IN (SELECT value FROM json_each(?))
       ORDER BY d.seq LIMIT ?`,
    ),
    automationEventClaim: prepare<[string, number, number, number], AutomationEventRow>(
      `UPDATE automation_events SET lease_owner = ?, lease_until = ?
       WHERE seq IN (SELECT seq FROM automation_events WHERE lease_owner IS NULL OR lease_until < ? ORDER BY seq LIMIT ?)
       RETURNING seq, automation, event, depth`,
    ),
    automationEventDelete: prepare('DELETE FROM automation_events WHERE seq = ?'),
    automationEventRenew: prepare<[number, string, string]>(
      'UPDATE automation_events SET lease_until = ? WHERE lease_owner = ? AND seq IN (SELECT value FROM json_each(?))',
    ),
    auditAdd: prepare(
      `INSERT INTO audits (identifier, at, resource_type, action, status, blueprint, entity, run_id, data)
       VALUES (@identifier, @at, @resourceType, @action, @status, @blueprint, @entity, @runId, @data)`,
    ),
    auditTrim: prepare<[number]>('DELETE FROM audits WHERE seq <= ?'),
    automationEventPut: prepare('INSERT INTO automation_events (automation, event, depth) VALUES (?, ?, ?)'),
    metaGet: prepare<[string], {value: string}>('SELECT value FROM meta WHERE key = ?'),
    metaPut: prepare('INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    dispatchClaim: prepare(
      "UPDATE dispatches SET state = 'claimed', claimed_until = ?, installation_id = ? WHERE run_id = ?",
    ),
    dispatchState: prepare('UPDATE dispatches SET state = ? WHERE run_id = ?'),
    // One statement: no two claimers get the same delivery while its lease lives.
    dispatchLease: prepare<[string, number, number, number, number], DispatchRow & {seq: number}>(
      `UPDATE dispatches SET lease_owner = ?, lease_until = ?
       WHERE seq IN (SELECT seq FROM dispatches WHERE state = 'pending' AND available_at <= ?
         AND (lease_owner IS NULL OR lease_until < ?) ORDER BY available_at, seq LIMIT ?)
       RETURNING *`,
    ),
    dispatchRenew: prepare<[number, string, string]>(
      `UPDATE dispatches SET lease_until = ?
       WHERE lease_owner = ? AND state = 'pending' AND run_id IN (SELECT value FROM json_each(?))`,
    ),
    dispatchGet: prepare<[string], DispatchRow>('SELECT * FROM dispatches WHERE run_id = ?'),
    // A leased delivery can be claimed once its lease has lapsed (the claim wants lease_until < now).
    dispatchNext: prepare<[], {at: number | null}>(
      `SELECT min(CASE WHEN lease_owner IS NULL THEN available_at ELSE max(available_at, lease_until + 1) END) AS at
       FROM dispatches WHERE state = 'pending'`,
    ),
    dispatchPut: prepare(
      `INSERT INTO dispatches (run_id, state, attempts, available_at, claimed_until, installation_id, context)
       VALUES (@runId, @state, @attempts, @availableAt, @claimedUntil, @installationId, @context)
       ON CONFLICT (run_id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts,
         available_at = excluded.available_at, claimed_until = excluded.claimed_until,
         installation_id = excluded.installation_id, context = excluded.context,
         lease_owner = NULL, lease_until = NULL`,
    ),
    leasesRelease: prepare<[string | null, string | null]>(
      `UPDATE dispatches SET lease_owner = NULL, lease_until = NULL
       WHERE lease_owner IS NOT NULL AND (? IS NULL OR lease_owner = ?)`,
    ),
    eventLeasesRelease: prepare<[string | null, string | null]>(
      `UPDATE automation_events SET lease_owner = NULL, lease_until = NULL
       WHERE lease_owner IS NOT NULL AND (? IS NULL OR lease_owner = ?)`,
    ),
    timerDelete: prepare('DELETE FROM timers WHERE blueprint = ? AND entity = ?'),
    timerDue: prepare<[number, number], TimerRow>(
      'SELECT * FROM timers WHERE fired_at IS NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?',
    ),
    timerFire: prepare(
      'UPDATE timers SET fired_at = ? WHERE blueprint = ? AND entity = ? AND property = ? AND expires_at = ?',
    ),
    timerGet: prepare<[string, string, string], TimerRow>(
      'SELECT * FROM timers WHERE blueprint = ? AND entity = ? AND property = ?',
    ),
    timerNext: prepare<[], {at: number | null}>('SELECT min(expires_at) AS at FROM timers WHERE fired_at IS NULL'),
    timerPut: prepare('INSERT INTO timers VALUES (?, ?, ?, ?, ?)'),
    credentialAdmin: prepare<[], {client_id: string}>(
      "SELECT client_id FROM credentials WHERE role = 'admin' ORDER BY rowid LIMIT 1",
    ),
    dependents: prepare<[string, string], {blueprint: string; identifier: string; relation: string}>(
      `SELECT e.blueprint, e.identifier, r.name AS relation FROM relations r JOIN entities e ON e.seq = r.source
       WHERE r.blueprint = ? AND r.identifier = ?`,
    ),
    entityCount: prepare<[string], {n: number}>('SELECT count(*) AS n FROM entities WHERE blueprint = ?'),
    entityDelete: prepare('DELETE FROM entities WHERE blueprint = ? AND identifier = ?'),
    entityGet: prepare<[string, string], {data: string}>(
      'SELECT data FROM entities WHERE blueprint = ? AND identifier = ?',
    ),
    entityPut: prepare<[string, string, string], {seq: number}>(
      `INSERT INTO entities (blueprint, identifier, data) VALUES (?, ?, ?)
       ON CONFLICT (blueprint, identifier) DO UPDATE SET data = excluded.data RETURNING seq`,
    ),
    relationInsert: prepare('INSERT INTO relations VALUES (?, ?, ?, ?)'),
    relationDelete: prepare(
      `DELETE FROM relations WHERE source = (SELECT seq FROM entities WHERE blueprint = ? AND identifier = ?)
       AND name = ? AND blueprint = ? AND identifier = ?`,
    ),
    entityData: prepare('UPDATE entities SET data = ? WHERE blueprint = ? AND identifier = ?'),
    relationsClear: prepare('DELETE FROM relations WHERE source = ?'),
    relatedTo: prepare<[string, string], {blueprint: string; identifier: string}>(
      `SELECT r.blueprint, r.identifier FROM relations r JOIN entities e ON e.seq = r.source
       WHERE e.blueprint = ? AND e.identifier = ?`,
    ),
    webLinkPut: prepare<[string, number, string]>(
      'INSERT INTO web_links (token_hash, client_id, expires_at) SELECT ?, client_id, ? FROM credentials WHERE client_id = ?',
    ),
    webLinkTake: prepare<[string], {client_id: string; expires_at: number}>(
      'DELETE FROM web_links WHERE token_hash = ? RETURNING client_id, expires_at',
    ),
    webLinksPrune: prepare<[number]>('DELETE FROM web_links WHERE expires_at <= ?'),
    webSessionDelete: prepare<[string]>('DELETE FROM web_sessions WHERE token_hash = ?'),
    webSessionGet: prepare<[string, number], {client_id: string; expires_at: number}>(
      'SELECT client_id, expires_at FROM web_sessions WHERE token_hash = ? AND expires_at > ?',
    ),
    webSessionPut: prepare<[string, number, string]>(
      'INSERT INTO web_sessions (token_hash, client_id, expires_at) SELECT ?, client_id, ? FROM credentials WHERE client_id = ?',
    ),
    webSessionsPrune: prepare<[number]>('DELETE FROM web_sessions WHERE expires_at <= ?'),
    windowEndAll: prepare<[number, number], {seq: number}>(
      'SELECT seq FROM entities WHERE seq > ? ORDER BY seq LIMIT 1 OFFSET ?',
    ),
    windowEndBlueprint: prepare<[string, number, number], {seq: number}>(
      'SELECT seq FROM entities WHERE blueprint = ? AND seq > ? ORDER BY seq LIMIT 1 OFFSET ?',
    ),
  }
}
export type Statements = ReturnType<typeof statements>
