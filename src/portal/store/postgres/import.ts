import type pg from 'pg'

import type {StoredEntity} from '../store.js'
import {COPIED_TABLES, type CopiedTable, type TableCounts, type TableRows} from '../transfer.js'
import {describeDatabase} from './database-url.js'
import {openError} from './errors.js'
import {MIGRATIONS, SchemaTooNewError} from './migrations.js'
import {connect, entityColumns, migrated, WRITE_LOCK, type PostgresOptions} from './postgres-store.js'

/** How a table's rows are written: its columns and the type each goes as (JSON text becomes jsonb). */
interface Load<T extends CopiedTable> {
  columns: [string, string][]
  /** What is inserted from the unnested columns, when not each of them as it is. */
  select?: string
  /** The row as sent, when it needs columns the transfer shape does not carry. */
  row?: (row: TableRows[T]) => Record<string, unknown>
  conflict?: string
}

const LOADS: {[T in CopiedTable]: Load<T>} = {
  action_permissions: {
    columns: [
      ['identifier', 'text'],
      ['data', 'jsonb'],
    ],
  },
  actions: {
    columns: [
      ['seq', 'bigint'],
      ['identifier', 'text'],
      ['data', 'jsonb'],
    ],
  },
  approvals: {
    columns: [
      ['seq', 'bigint'],
      ['run_id', 'text'],
      ['client_id', 'text'],
      ['data', 'jsonb'],
    ],
  },
  audits: {
    columns: [
      ['seq', 'bigint'],
      ['identifier', 'text'],
      ['at', 'text'],
      ['resource_type', 'text'],
      ['action', 'text'],
      ['status', 'text'],
      ['blueprint', 'text'],
      ['entity', 'text'],
      ['run_id', 'text'],
      ['data', 'jsonb'],
    ],
  },
  automation_events: {
    columns: [
      ['seq', 'bigint'],
      ['automation', 'text'],
      ['event', 'jsonb'],
      ['depth', 'integer'],
    ],
  },
  blueprints: {
    columns: [
      ['seq', 'bigint'],
      ['identifier', 'text'],
      ['data', 'jsonb'],
    ],
  },
  credentials: {
    columns: [
      ['seq', 'bigint'],
      ['client_id', 'text'],
      ['client_secret', 'text'],
      ['role', 'text'],
      ['created_at', 'text'],
      ['email', 'text'],
      ['teams', 'jsonb'],
    ],
  },
  dispatches: {
    columns: [
      ['seq', 'bigint'],
      ['run_id', 'text'],
      ['state', 'text'],
      ['attempts', 'integer'],
      ['available_at', 'bigint'],
      ['claimed_until', 'bigint'],
      ['installation_id', 'text'],
      ['context', 'jsonb'],
    ],
  },
  // The indexed columns are derived from the document as PostgresStore.putEntity derives them.
  entities: {
    columns: [
      ['seq', 'bigint'],
      ['blueprint', 'text'],
      ['identifier', 'text'],
      ['team', 'jsonb'],
      ['updated_at', 'timestamptz'],
      ['data', 'jsonb'],
    ],
    row: (row) => {
      const [, , team, updatedAt] = entityColumns(JSON.parse(row.data) as StoredEntity)
      return {...row, team: JSON.stringify(team), updated_at: updatedAt}
    },
    select: 'seq, blueprint, identifier, ARRAY(SELECT jsonb_array_elements_text(team)), updated_at, data',
  },
  // A fresh schema has a token-signing key of its own: the source's replaces it, so tokens keep working.
  meta: {
    columns: [
      ['key', 'text'],
      ['value', 'text'],
    ],
    conflict: 'ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  },
  relations: {
    columns: [
      ['seq', 'bigint'],
      ['source', 'bigint'],
      ['name', 'text'],
      ['blueprint', 'text'],
      ['identifier', 'text'],
    ],
  },
  run_logs: {
    columns: [
      ['seq', 'bigint'],
      ['run_id', 'text'],
      ['data', 'jsonb'],
    ],
  },
  runs: {
    columns: [
      ['seq', 'bigint'],
      ['id', 'text'],
      ['action', 'text'],
      ['status', 'text'],
      ['entity', 'text'],
      ['blueprint', 'text'],
      ['external_run_id', 'text'],
      ['created_by', 'text'],
      ['source', 'text'],
      ['data', 'jsonb'],
    ],
  },
  timers: {
    columns: [
      ['blueprint', 'text'],
      ['entity', 'text'],
      ['property', 'text'],
      ['expires_at', 'bigint'],
      ['fired_at', 'bigint'],
    ],
  },
}

/** What a freshly migrated schema holds already, and is not a portal's data. */
const FRESH: Partial<Record<CopiedTable, string>> = {meta: "key <> 'token_key'"}

/**
 * The PostgreSQL side of `idp portal copy`: one transaction on one connection, holding the lock
 * every portal write takes, so that a `portal serve` starting on the database meanwhile waits for
 * the copy and then finds it whole. Rows keep their seq, and each sequence is moved past them.
 */
export class PostgresImport {
  private open = false

  private constructor(
    private readonly pool: pg.Pool,
    private readonly client: pg.PoolClient,
    /** The database, described without its password. */
    readonly database: string,
  ) {}

  /**
   * Connects; to write, migrates the schema first. A dry run reads the database as it is (tables
   * it does not have yet hold nothing), but refuses one that a newer idp migrated, as a copy would.
   */
  static async open(options: PostgresOptions, {write}: {write: boolean}): Promise<PostgresImport> {
    const database = describeDatabase(options.url)
    const pool = write ? (await migrated(options)).pool : connect(options)
    let client: pg.PoolClient | undefined
    try {
      client = await pool.connect()
      const target = new PostgresImport(pool, client, database)
      if (!write) await target.refuseNewer()
      await client.query(write ? 'BEGIN' : 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      target.open = true
      if (write) await client.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK])
      return target
    } catch (error) {
      // Released (and discarded) first: the pool ends only once it has every client back.
      client?.release(true)
      await pool.end()
      throw openError(error, database, options.urlFlag)
    }
  }

  private async refuseNewer(): Promise<void> {
    const [{exists}] = (
      await this.client.query<{exists: boolean}>("SELECT to_regclass('idp_schema_version') IS NOT NULL AS exists")
    ).rows as [{exists: boolean}]
    if (!exists) return
    const {rows} = await this.client.query<{version: number | null}>(
      'SELECT max(version) AS version FROM idp_schema_version',
    )
    const version = rows[0]?.version ?? 0
    if (version > MIGRATIONS.length) {
      throw new SchemaTooNewError(
        `this portal database has schema version ${version}, newer than this idp knows (${MIGRATIONS.length}); upgrade idp`,
      )
    }
  }

  /** Each table's rows; with `beyondFresh`, only those a freshly migrated schema does not hold. */
  async counts({beyondFresh = false} = {}): Promise<TableCounts> {
    const {rows: present} = await this.client.query<{name: string}>(
      'SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NOT NULL',
      [COPIED_TABLES],
    )
    const counts = Object.fromEntries(COPIED_TABLES.map((table) => [table, 0])) as TableCounts
    for (const {name} of present) {
      const table = name as CopiedTable
      const where = beyondFresh && FRESH[table] ? `WHERE ${FRESH[table]}` : ''
      const {rows} = await this.client.query<{n: number}>(`SELECT count(*) AS n FROM ${table} ${where}`)
      counts[table] = Number(rows[0]!.n)
    }
    return counts
  }

  /** One statement a batch: each column goes as one array, unnested into rows. */
  async write<T extends CopiedTable>(table: T, rows: TableRows[T][]): Promise<void> {
    const load = LOADS[table] as Load<T>
    const sent = load.row ? rows.map(load.row) : (rows as unknown as Record<string, unknown>[])
    const names = load.columns.map(([name]) => name).join(', ')
    const arrays = load.columns.map(([, type], index) => `$${index + 1}::${type}[]`).join(', ')
    await this.client.query(
      `INSERT INTO ${table} (${names}) SELECT ${load.select ?? '*'} FROM unnest(${arrays}) AS r (${names}) ${load.conflict ?? ''}`,
      load.columns.map(([name]) => sent.map((row) => row[name] ?? null)),
    )
  }

  /** Moves each table's sequence past the seqs copied, so that new rows do not collide with them. */
  async advanceSequences(): Promise<void> {
    for (const table of COPIED_TABLES) {
      if (LOADS[table].columns[0]![0] !== 'seq') continue
      await this.client.query(
        `SELECT setval(pg_get_serial_sequence('${table}', 'seq'), coalesce(max(seq), 0) + 1, false) FROM ${table}`,
      )
    }
  }

  async commit(): Promise<void> {
    await this.client.query('COMMIT')
    this.open = false
  }

  /** Rolls back whatever was not committed: a failed copy leaves the database as it was. */
  async close(): Promise<void> {
    let broken: Error | undefined
    if (this.open) await this.client.query('ROLLBACK').catch((error: Error) => (broken = error))
    this.client.release(broken)
    await this.pool.end()
  }
}
