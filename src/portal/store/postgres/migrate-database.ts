import {describeDatabase} from './database-url.js'
import {migrated, type PostgresOptions} from './postgres-store.js'

export interface MigrateResult {
  /** The database, described without its password. */
  database: string
  /** Schema versions before and after (equal when there was nothing to do). */
  from: number
  to: number
}

/**
 * Brings a PostgreSQL database's schema up to this idp's version, for operators who migrate
 * before rolling out; processes serving meanwhile wait on the same advisory lock, not on errors.
 */
export async function migrateDatabase(options: PostgresOptions): Promise<MigrateResult> {
  const {from, pool, to} = await migrated(options)
  await pool.end()
  return {database: describeDatabase(options.url), from, to}
}
