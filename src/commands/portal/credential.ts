import {randomBytes} from 'node:crypto'
import {join} from 'node:path'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'

export default class PortalCredential extends BaseCommand<typeof PortalCredential> {
  static override summary = 'Create client credentials for the embedded portal.'
  static override description = `Adds a credential to the portal's data directory (the portal may be running) and prints its secret once. Members can read the catalog, write entities and run actions, but not change blueprints or actions; admins can do everything.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --role member --email dev@example.com --team payments',
    '<%= config.bin %> <%= command.id %> --role admin --data-dir ./portal-data --json',
  ]
  static override flags = {
    'data-dir': Flags.string({
      env: 'IDP_PORTAL_DATA_DIR',
      summary: 'The portal data directory. [default: <data dir>/portal]',
    }),
    email: Flags.string({summary: 'Who the credential stands for.'}),
    role: Flags.option({default: 'member', options: ['admin', 'member'] as const, summary: 'What it may do.'})(),
    team: Flags.string({multiple: true, summary: 'A team it belongs to (repeatable).'}),
  }

  async run(): Promise<{clientId: string; clientSecret: string; role: string}> {
    const {SqliteStore} = await import('../../portal/store/sqlite-store.js')
    const {generateId} = await import('../../portal/ids.js')
    const store = SqliteStore.open(this.flags['data-dir'] ?? join(this.config.dataDir, 'portal'))
    const credential = {
      clientId: generateId('client', 24),
      clientSecret: randomBytes(32).toString('base64url'),
      createdAt: new Date().toISOString(),
      role: this.flags.role,
      ...(this.flags.email ? {email: this.flags.email} : {}),
      teams: this.flags.team ?? [],
    }
    await store.transaction(() => store.createCredential(credential))
    await store.close()
    const result = {clientId: credential.clientId, clientSecret: credential.clientSecret, role: credential.role}
    return this.emit(result, () => {
      this.io.out(`Created a ${result.role} credential (the secret is shown this once):`)
      this.io.out(`  client id:     ${result.clientId}`)
      this.io.out(`  client secret: ${result.clientSecret}`)
      this.io.err(
        this.io.color.dim(
          `Log in with it: IDP_CLIENT_ID=${result.clientId} idp login --api-url <portal url>  (you are asked for the secret)`,
        ),
      )
    })
  }
}
