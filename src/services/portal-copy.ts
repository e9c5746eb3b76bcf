import {ExitCode, IdpError} from '../errors.js'
import {PostgresImport} from '../portal/store/postgres/import.js'
import {SqliteExport} from '../portal/store/sqlite/export.js'
import {COPIED_TABLES, type CopiedTable, type TableCounts} from '../portal/store/transfer.js'

export interface CopyOptions {
  /** The SQLite data directory of the portal to copy. */
  from: string
  /** The PostgreSQL database (a `postgres://` URL, else libpq's `PG*` variables). */
  to: string | undefined
  dryRun?: boolean
  /** Rows copied so far of the table being copied, for a progress line. */
  onProgress?: (table: CopiedTable, done: number, total: number) => void
  /** Rows read and written at a time: a 100k-entity portal is never held in memory whole. */
  batchSize?: number
}

export interface CopyResult {
  from: string
  /** The database, described without its password. */
  to: string
  dryRun: boolean
  /** Every table: its rows in the source, and in the target after the copy (0 in a dry run). */
  tables: {name: CopiedTable; source: number; copied: number}[]
}

/**
 * Copies a laptop's portal (SQLite) into a team's PostgreSQL database: one snapshot of the source,
 * one transaction on the target, which must hold no portal yet. The counts of every table are
 * compared before the transaction commits, so a copy that fails or comes out short leaves the
 * target as it was. A dry run reads both sides and writes nothing.
 */
export async function copyPortal(options: CopyOptions): Promise<CopyResult> {
  const dryRun = options.dryRun ?? false
  const source = SqliteExport.open(options.from)
  try {
    const counts = Object.fromEntries(COPIED_TABLES.map((table) => [table, source.count(table)])) as TableCounts
    const target = await PostgresImport.open({url: options.to, urlFlag: '--to'}, {write: !dryRun})
    try {
      refuseOccupied(target.database, await target.counts({beyondFresh: true}))
      if (!dryRun) {
        for (const table of COPIED_TABLES) {
          let done = 0
          options.onProgress?.(table, done, counts[table])
          for (const rows of source.batches(table, options.batchSize ?? 1000)) {
            await target.write(table, rows)
            options.onProgress?.(table, (done += rows.length), counts[table])
          }
        }
        await target.advanceSequences()
      }
      const copied = dryRun ? undefined : await target.counts()
      const tables = COPIED_TABLES.map((name) => ({copied: copied?.[name] ?? 0, name, source: counts[name]}))
      const short = tables.filter((table) => copied && table.copied !== table.source)
      if (short.length) {
        throw new IdpError(
          `The copy came out different from the source (${short.map((t) => `${t.name}: ${t.source} read, ${t.copied} written`).join('; ')}); nothing was written.`,
          {code: 'copy_mismatch', exitCode: ExitCode.INTERNAL, hint: 'This is a bug in idp: please report it.'},
        )
      }
      if (!dryRun) await target.commit()
      return {dryRun, from: options.from, tables, to: target.database}
    } finally {
      await target.close()
    }
  } finally {
    source.close()
  }
}

/** A copy goes into a database that holds no portal yet: never a second copy, never a merge. */
function refuseOccupied(database: string, held: TableCounts): void {
  const found = COPIED_TABLES.filter((table) => held[table] > 0)
  if (found.length === 0) return
  throw new IdpError(
    `${database} already holds a portal (${found.map((table) => `${table}: ${held[table]}`).join(', ')}); nothing was copied.`,
    {
      code: 'target_not_empty',
      exitCode: ExitCode.USAGE,
      hint: 'Copy into a new, empty database (created, perhaps migrated, never served). A copy that finished needs no second run.',
      details: {held: Object.fromEntries(found.map((table) => [table, held[table]]))},
    },
  )
}
