import {join, resolve} from 'node:path'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../../base-command.js'
import {ProfileStore} from '../../../config/profiles.js'
import {ExitCode, IdpError} from '../../../errors.js'
import type {IO} from '../../../io/output.js'
import type {CreatedCredential, withCredentials} from '../../../portal/auth/credentials.js'

/**
 * Where the portal keeps its credentials: a data directory's SQLite, or the PostgreSQL database
 * that `portal serve --store postgres` uses (named the same ways). Repeated from portal serve's
 * flags so that --help loads no store code.
 */
export const storeFlags = {
  'data-dir': Flags.string({
    env: 'IDP_PORTAL_DATA_DIR',
    summary: 'The portal data directory (SQLite). [default: <data dir>/portal]',
  }),
  store: Flags.option({
    default: 'sqlite',
    env: 'IDP_PORTAL_STORE',
    options: ['sqlite', 'postgres'] as const,
    summary: 'Where the portal keeps its data.',
  })(),
  'database-url': Flags.string({
    env: 'IDP_PORTAL_DATABASE_URL',
    helpValue: 'postgres://USER@HOST:PORT/DB',
    summary: 'The PostgreSQL database for --store postgres (else PG* variables name it).',
  }),
}

interface StoreFlags {
  'data-dir'?: string | undefined
  store: 'sqlite' | 'postgres'
  'database-url'?: string | undefined
}

/** The portal store that a command's flags name; its module loads only when used. */
export async function portalCredentials<T>(
  command: {flags: StoreFlags; argv: string[]; defaultDataDir: string; io: IO},
  work: Parameters<typeof withCredentials<T>>[1],
): Promise<T> {
  const {flags} = command
  const databaseUrl = flags['database-url']
  if (databaseUrl !== undefined && flags.store !== 'postgres') {
    throw new IdpError('--database-url is for --store postgres.', {
      code: 'usage',
      exitCode: ExitCode.USAGE,
      hint: 'Pass --store postgres (or IDP_PORTAL_STORE=postgres), or leave out --database-url.',
    })
  }
  if (flags.store === 'postgres') {
    const {passwordOnArgv} = await import('../../../portal/store/postgres/database-url.js')
    const exposed = passwordOnArgv(databaseUrl, command.argv)
    if (exposed) command.io.err(`${command.io.color.yellow('Warning:')} ${exposed}`)
  }
  const {withCredentials: open} = await import('../../../portal/auth/credentials.js')
  return open({dataDir: portalDataDir(flags, command.defaultDataDir), databaseUrl, store: flags.store}, work)
}

const portalDataDir = (flags: StoreFlags, defaultDataDir: string) =>
  resolve(flags['data-dir'] ?? join(defaultDataDir, 'portal'))

export default class PortalCredential extends BaseCommand<typeof PortalCredential> {
  static override aliases = ['portal:credential:create']
  static override summary = 'Create client credentials for the embedded portal.'
  static override description = `Adds a credential to the portal's store (the portal may be running) and prints its secret once. It writes the store itself, so it takes --data-dir (or --store postgres and --database-url, as "idp portal serve" does), not a profile or an API URL.
Roles: member (reads the catalog, writes entities, runs the actions it may run), agent (a member that also claims runs from the agent queue: use it for idp agent or Port's agent), admin (everything).
See also: idp portal credential list, idp portal credential revoke.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --role member --email dev@example.com --team payments',
    '<%= config.bin %> <%= command.id %> --role agent --json',
    'PGPASSWORD=… <%= config.bin %> <%= command.id %> --store postgres --database-url postgres://idp@db.internal/idp',
  ]
  // It writes the portal's store itself, whichever portal a profile points at.
  static override baseFlags = BaseCommand.localBaseFlags
  static override flags = {
    ...storeFlags,
    email: Flags.string({summary: 'Who the credential stands for.'}),
    role: Flags.option({
      default: 'member',
      options: ['admin', 'member', 'agent'] as const,
      summary: 'What it may do.',
    })(),
    team: Flags.string({multiple: true, summary: 'A team it belongs to (repeatable).'}),
  }

  async run(): Promise<CreatedCredential> {
    const where = {argv: this.argv, defaultDataDir: this.config.dataDir, flags: this.flags, io: this.io}
    const result = await portalCredentials(where, (credentials, transaction) =>
      transaction(() => credentials.create({email: this.flags.email, role: this.flags.role, teams: this.flags.team})),
    )
    // The portal of a data directory was last served where its admin profile says.
    const dataDir = portalDataDir(this.flags, this.config.dataDir)
    const profiles = await ProfileStore.open(this.config.configDir)
    const served = Object.values(profiles.list()).find((profile) => profile.portalDataDir === dataDir)
    const apiUrl = (this.flags.store === 'sqlite' && served?.apiUrl) || '<portal url>'
    return this.emit(result, () => {
      this.io.out(`Created a ${result.role} credential (the secret is shown this once):`)
      this.io.out(`  client id:     ${result.clientId}`)
      this.io.out(`  client secret: ${result.clientSecret}`)
      this.io.err(
        this.io.color.dim(
          `Log in with it: IDP_CLIENT_ID=${result.clientId} idp login --api-url ${apiUrl}  (you are asked for the secret)`,
        ),
      )
    })
  }
}
