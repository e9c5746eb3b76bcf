import {BaseCommand} from '../../../base-command.js'
import {printTable} from '../../../io/table.js'
import type {CredentialInfo} from '../../../portal/auth/credentials.js'
import {portalCredentials, storeFlags} from './index.js'

export default class PortalCredentialList extends BaseCommand<typeof PortalCredentialList> {
  static override summary = "List the embedded portal's credentials (never their secrets)."
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']
  // It reads the portal's store itself, whichever portal a profile points at.
  static override baseFlags = BaseCommand.localBaseFlags
  static override flags = storeFlags

  async run(): Promise<{credentials: CredentialInfo[]}> {
    const credentials = await portalCredentials(
      {argv: this.argv, defaultDataDir: this.config.dataDir, flags: this.flags, io: this.io},
      (store) => store.list(),
    )
    return this.emit({credentials}, () =>
      printTable(this.io, credentials, [
        {get: (c) => c.clientId + (c.organisation ? ' (organisation)' : ''), header: 'CLIENT ID'},
        {get: (c) => c.role, header: 'ROLE'},
        {get: (c) => c.email ?? '', header: 'EMAIL'},
        {get: (c) => c.teams.join(', '), header: 'TEAMS'},
        {get: (c) => c.createdAt, header: 'CREATED'},
      ]),
    )
  }
}
