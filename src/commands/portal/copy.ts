import {join} from 'node:path'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {phaseProgress} from '../../io/progress.js'
import {printTable} from '../../io/table.js'
import type {CopyResult} from '../../services/portal-copy.js'

export default class PortalCopy extends BaseCommand<typeof PortalCopy> {
  static override summary = "Copy a laptop's portal into a PostgreSQL database, for a team portal."
  static override description = `Copies everything a portal in a data directory (SQLite) holds into a PostgreSQL database that "idp portal serve --store postgres" then serves: credentials with their secrets and the token-signing key (saved profiles and tokens keep working), settings, blueprints, entities and their relations, actions and permissions, runs with their logs and approvals, the audit log, timers (fired ones stay fired) and the queue. Ids, order and times are kept.
Stop the portal first: a data directory that a running "idp portal serve" has open is refused, so that nothing it writes is left behind. The source is only read, in one snapshot. The target must hold no portal yet (a new database, migrated or not, never served): one that does is refused, so a second copy never duplicates anything. The copy is one transaction: it checks every table's count before it commits, and a copy that fails part-way leaves the database as it was.
--to (or IDP_PORTAL_DATABASE_URL) names the database, else libpq's PG* variables do; the password is never printed. --dry-run reads both sides, says what would be copied and writes nothing.
Exit 2 when refused: a running portal, a target that holds a portal, a schema of another idp release. With --json: {"from", "to", "dryRun", "tables": [{"name", "source", "copied"}]}.`
  static override examples = [
    'PGPASSWORD=… <%= config.bin %> <%= command.id %> --to postgres://idp@db.internal/idp',
    '<%= config.bin %> <%= command.id %> --from ./portal-data --to postgres://idp@db.internal/idp --dry-run',
  ]
  // It reads a data directory and writes a database itself, whichever portal a profile points at.
  static override baseFlags = BaseCommand.localBaseFlags
  static override flags = {
    from: Flags.string({
      env: 'IDP_PORTAL_DATA_DIR',
      helpValue: 'DATA_DIR',
      summary: 'The data directory of the portal to copy. [default: <data dir>/portal]',
    }),
    to: Flags.string({
      env: 'IDP_PORTAL_DATABASE_URL',
      helpValue: 'postgres://USER@HOST:PORT/DB',
      summary: 'The PostgreSQL database to copy into (else PG* variables name it).',
    }),
    'dry-run': Flags.boolean({summary: 'Show what would be copied; write nothing.'}),
    'batch-size': Flags.integer({default: 1000, hidden: true, min: 1, summary: 'Rows read and written at a time.'}),
  }

  async run(): Promise<CopyResult> {
    const from = this.flags.from ?? join(this.config.dataDir, 'portal')
    const {passwordOnArgv} = await import('../../portal/store/postgres/database-url.js')
    const exposed = passwordOnArgv(this.flags.to, this.argv, '--to')
    if (exposed) this.io.err(`${this.io.color.yellow('Warning:')} ${exposed}`)
    const {copyPortal} = await import('../../services/portal-copy.js')
    const progress = phaseProgress(this.io, this.io.stderrIsTTY && !this.jsonOutput)
    const result = await copyPortal({
      batchSize: this.flags['batch-size'],
      dryRun: this.flags['dry-run'],
      from,
      onProgress: (table, done, total) => progress.update(table, done, total),
      to: this.flags.to,
    }).finally(() => progress.done())
    return this.emit(result, async () => {
      await printTable(this.io, result.tables, [
        {get: (table) => table.name, header: 'TABLE'},
        {get: (table) => table.source, header: 'SOURCE'},
        {get: (table) => (result.dryRun ? '-' : table.copied), header: 'COPIED'},
      ])
      const {dim} = this.io.color
      if (result.dryRun) {
        this.io.err(`Dry run: nothing was written. ${result.to} holds no portal, so the copy can go ahead.`)
        return
      }
      this.io.err(`Copied the portal in ${result.from} to ${result.to}; every table's count matches.`)
      this.io.err(dim('Serve it: idp portal serve --store postgres (with IDP_PORTAL_DATABASE_URL or --database-url).'))
      this.io.err(dim("Saved profiles keep their credentials: point them at the team portal's URL."))
    })
  }
}
