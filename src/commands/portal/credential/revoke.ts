import {Args} from '@oclif/core'

import {BaseCommand} from '../../../base-command.js'
import {ExitCode, IdpError} from '../../../errors.js'
import {portalCredentials, storeFlags} from './index.js'

export default class PortalCredentialRevoke extends BaseCommand<typeof PortalCredentialRevoke> {
  static override summary = 'Revoke an embedded portal credential; its tokens stop working at once.'
  static override description = `Deletes the credential and every access token issued to it (the run tokens it minted too). A running portal refuses them from the next request on. The organisation's credential (the first admin) cannot be revoked: its secret signs webhooks and encrypts secret inputs.`
  static override examples = ['<%= config.bin %> <%= command.id %> client_Ab12…']
  static override args = {clientId: Args.string({description: 'The client id to revoke.', required: true})}
  // It writes the portal's store itself, whichever portal a profile points at.
  static override baseFlags = BaseCommand.localBaseFlags
  static override flags = storeFlags

  async run(): Promise<{revoked: string}> {
    const {clientId} = this.args
    await portalCredentials(
      {argv: this.argv, defaultDataDir: this.config.dataDir, flags: this.flags, io: this.io},
      (credentials, transaction) => transaction(() => credentials.revoke(clientId)),
    ).catch((error: Error & {status?: number}) => {
      if (error.status === 404)
        throw new IdpError(error.message, {
          code: 'not_found',
          exitCode: ExitCode.NOT_FOUND,
          hint: 'See: idp portal credential list',
        })
      if (error.status === 409) throw new IdpError(error.message, {code: 'conflict', exitCode: ExitCode.USAGE})
      throw error
    })
    return this.emit({revoked: clientId}, () => this.io.out(`Revoked ${clientId}; its tokens no longer work.`))
  }
}
