import {existsSync} from 'node:fs'
import {join} from 'node:path'

import type Database from 'better-sqlite3'

import {ExitCode, IdpError} from '../../../errors.js'
import type {CopiedTable, TableRows} from '../transfer.js'
import {loadSqlite} from './module.js'
import {SCHEMA_VERSION} from './schema.js'

/**
 * Each table's columns in the transfer shape. Every table is a rowid table, so rows page by
 * rowid, which is `seq` where the table has one; credentials and relations keep their rowid as seq.
 */
const COLUMNS: Record<CopiedTable, string> = {
  action_permissions: 'identifier, data',
  actions: 'seq, identifier, data',
  approvals: 'seq, run_id, client_id, data',
  audits: 'seq, identifier, at, resource_type, action, status, blueprint, entity, run_id, data',
  automation_events: 'seq, automation, event, depth',
  blueprints: 'seq, identifier, data',
  credentials: 'rowid AS seq, client_id, client_secret, role, created_at, email, teams',
  dispatches: 'seq, run_id, state, attempts, available_at, claimed_until, installation_id, context',
  entities: 'seq, blueprint, identifier, data',
  meta: 'key, value',
  relations: 'rowid AS seq, source, name, blueprint, identifier',
  run_logs: 'seq, run_id, data',
  runs: 'seq, id, action, status, entity, blueprint, external_run_id, created_by, source, data',
  timers: 'blueprint, entity, property, expires_at, fired_at',
}

/**
 * A portal's SQLite database, read for a copy: one read transaction, so every table comes from the
 * same moment, under an exclusive lock, so that no `idp portal serve` has it open meanwhile (one
 * that has is refused: it would go on writing what the copy leaves behind). Nothing is written;
 * closing may checkpoint the write-ahead log into the file, which changes no data.
 */
export class SqliteExport {
  private constructor(private readonly db: Database.Database) {}

  /** Opens `<dataDir>/portal.db`; refuses a missing one, one in use, or one of another schema version. */
  static open(dataDir: string): SqliteExport {
    const file = join(dataDir, 'portal.db')
    if (!existsSync(file)) {
      throw new IdpError(`${dataDir} holds no portal (no portal.db).`, {
        code: 'usage',
        exitCode: ExitCode.USAGE,
        hint: 'Pass the data directory "idp portal serve" used with --from (its --data-dir).',
      })
    }
    // No busy timeout: a portal that has the file open answers at once, rather than in 5 s.
    const db = new (loadSqlite())(file, {fileMustExist: true, timeout: 0})
    try {
      db.pragma('locking_mode = EXCLUSIVE')
      db.exec('BEGIN')
      // The first read takes the lock, and fixes the moment every table is read at.
      db.prepare('SELECT count(*) FROM sqlite_master').get()
      const version = db.pragma('user_version', {simple: true}) as number
      if (version !== SCHEMA_VERSION) throw versionError(dataDir, version)
      return new SqliteExport(db)
    } catch (error) {
      db.close()
      if ((error as {code?: string}).code === 'SQLITE_BUSY') {
        throw new IdpError(`A portal is using ${dataDir}: stop its "idp portal serve" first.`, {
          code: 'portal_in_use',
          exitCode: ExitCode.USAGE,
          hint: 'The copy reads the data directory alone, so that nothing written meanwhile is left behind.',
        })
      }
      throw error
    }
  }

  count(table: CopiedTable): number {
    return this.db.prepare<[], {n: number}>(`SELECT count(*) AS n FROM ${table}`).get()!.n
  }

  /** The table's rows in storage order, `size` at a time: a large portal never sits in memory whole. */
  *batches<T extends CopiedTable>(table: T, size: number): Generator<TableRows[T][]> {
    // Named apart: selecting `rowid` of a table with an INTEGER PRIMARY KEY answers that column's name.
    const page = this.db.prepare<[number, number], TableRows[T] & {cursor_rowid: number}>(
      `SELECT rowid AS cursor_rowid, ${COLUMNS[table]} FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT ?`,
    )
    for (let after = 0; ;) {
      const rows = page.all(after, size)
      if (rows.length === 0) return
      after = rows.at(-1)!.cursor_rowid
      yield rows.map(({cursor_rowid: _cursor, ...row}) => row as unknown as TableRows[T])
    }
  }

  close(): void {
    this.db.exec('COMMIT')
    this.db.close()
  }
}

function versionError(dataDir: string, version: number): IdpError {
  if (version > SCHEMA_VERSION) {
    return new IdpError(`${dataDir} has schema version ${version}, newer than this idp knows (${SCHEMA_VERSION}).`, {
      code: 'database_too_new',
      exitCode: ExitCode.USAGE,
      hint: 'Copy it with the idp release that last served it, or a newer one.',
    })
  }
  return new IdpError(`${dataDir} has schema version ${version}; this idp copies version ${SCHEMA_VERSION}.`, {
    code: 'database_too_old',
    exitCode: ExitCode.USAGE,
    hint: 'Start "idp portal serve --data-dir DIR" once with this idp (it migrates on start), stop it, and copy again.',
  })
}
