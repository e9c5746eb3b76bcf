import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {MigrateResult} from '../../portal/store/postgres/migrate-database.js'

export default class PortalMigrate extends BaseCommand<typeof PortalMigrate> {
  static override summary = "Migrate a PostgreSQL portal database to this idp's schema."
  static override description = `"idp portal serve --store postgres" migrates on start; run this first to migrate once before rolling out new processes. Running it again is a no-op. Several processes that migrate at once take turns (an advisory lock).
--database-url (or IDP_PORTAL_DATABASE_URL) names the database, else libpq's PG* variables do. The password is never printed. A database that a newer idp migrated is refused (exit 2).
With --json: {"database", "from", "to"} (schema versions before and after).`
  static override examples = [
    'PGPASSWORD=… <%= config.bin %> <%= command.id %> --database-url postgres://idp@db.internal/idp',
    '<%= config.bin %> <%= command.id %> --json',
  ]
  static override flags = {
    'database-url': Flags.string({
      env: 'IDP_PORTAL_DATABASE_URL',
      helpValue: 'postgres://USER@HOST:PORT/DB',
      summary: 'The PostgreSQL database (else PG* variables name it).',
    }),
  }

  async run(): Promise<MigrateResult> {
    const url = this.flags['database-url']
    const {passwordOnArgv} = await import('../../portal/store/postgres/database-url.js')
    const exposed = passwordOnArgv(url, this.argv)
    if (exposed) this.io.err(`${this.io.color.yellow('Warning:')} ${exposed}`)
    const {migrateDatabase} = await import('../../portal/store/postgres/migrate-database.js')
    const result = await migrateDatabase({url})
    return this.emit(result, () =>
      this.io.out(
        result.from === result.to
          ? `${result.database} is at schema version ${result.to}: nothing to migrate.`
          : `Migrated ${result.database} from schema version ${result.from} to ${result.to}.`,
      ),
    )
  }
}
