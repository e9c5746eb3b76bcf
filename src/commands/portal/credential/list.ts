import {BaseCommand} from '../../../base-command.js'
import {printTable} from '../../../io/table.js'
import type {CredentialInfo} from '../../../portal/auth/credentials.js'
import {dataDirFlag, portalCredentials} from './index.js'

export default class PortalCredentialList extends BaseCommand<typeof PortalCredentialList> {
  static override summary = "List the embedded portal's credentials (never their secrets)."
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']
  // It writes the data directory itself, whichever portal a profile points at.
  static override baseFlags = BaseCommand.localBaseFlags
  static override flags = {'data-dir': dataDirFlag}

  async run(): Promise<{credentials: CredentialInfo[]}> {
    const credentials = await portalCredentials(this.flags['data-dir'], this.config.dataDir, (store) => store.list())
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
