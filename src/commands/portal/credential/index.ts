import {join, resolve} from 'node:path'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../../base-command.js'
import {ProfileStore} from '../../../config/profiles.js'
import type {CreatedCredential, withCredentials} from '../../../portal/auth/credentials.js'

export const dataDirFlag = Flags.string({
  env: 'IDP_PORTAL_DATA_DIR',
  summary: 'The portal data directory. [default: <data dir>/portal]',
})

/** The store of the portal data directory a command names; the module loads only when used. */
export async function portalCredentials<T>(
  dataDir: string | undefined,
  defaultDataDir: string,
  work: Parameters<typeof withCredentials<T>>[1],
): Promise<T> {
  const {withCredentials: open} = await import('../../../portal/auth/credentials.js')
  return open(dataDir ?? join(defaultDataDir, 'portal'), work)
}

export default class PortalCredential extends BaseCommand<typeof PortalCredential> {
  static override aliases = ['portal:credential:create']
  static override summary = 'Create client credentials for the embedded portal.'
  static override description = `Adds a credential to the portal's data directory (the portal may be running) and prints its secret once. It writes the data directory itself, so it takes --data-dir, not --api-url or --profile.
Roles: member (reads the catalog, writes entities, runs the actions it may run), agent (a member that also claims runs from the agent queue: use it for idp agent or Port's agent), admin (everything).
See also: idp portal credential list, idp portal credential revoke.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --role member --email dev@example.com --team payments',
    '<%= config.bin %> <%= command.id %> --role agent --json',
  ]
  // It writes the data directory itself, whichever portal a profile points at.
  static override baseFlags = BaseCommand.localBaseFlags
  static override flags = {
    'data-dir': dataDirFlag,
    email: Flags.string({summary: 'Who the credential stands for.'}),
    role: Flags.option({
      default: 'member',
      options: ['admin', 'member', 'agent'] as const,
      summary: 'What it may do.',
    })(),
    team: Flags.string({multiple: true, summary: 'A team it belongs to (repeatable).'}),
  }

  async run(): Promise<CreatedCredential> {
    const result = await portalCredentials(this.flags['data-dir'], this.config.dataDir, (credentials, transaction) =>
      transaction(() => credentials.create({email: this.flags.email, role: this.flags.role, teams: this.flags.team})),
    )
    // The portal of this data directory was last served where its admin profile says.
    const dataDir = resolve(this.flags['data-dir'] ?? join(this.config.dataDir, 'portal'))
    const profiles = await ProfileStore.open(this.config.configDir)
    const apiUrl =
      Object.values(profiles.list()).find((profile) => profile.portalDataDir === dataDir)?.apiUrl ?? '<portal url>'
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
