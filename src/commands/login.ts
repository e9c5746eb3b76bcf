import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {ProfileStore} from '../config/profiles.js'
import {login, PORT_EU_URL, type LoginResult} from '../services/login.js'

export default class Login extends BaseCommand<typeof Login> {
  static override summary = 'Log in to a portal with client credentials.'
  static override description = `Checks a client id and secret against the portal, then saves them (file mode 0600) as the current profile.
Credentials come from --client-id/--client-secret, IDP_CLIENT_ID/IDP_CLIENT_SECRET, PORT_CLIENT_ID/PORT_CLIENT_SECRET, or a prompt with the secret masked.
The URL defaults to Port's EU API (${PORT_EU_URL}); Port US is https://api.us.getport.io.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --api-url https://api.us.getport.io --profile us',
    '<%= config.bin %> <%= command.id %> --api-url http://127.0.0.1:5480 --client-id CLIENT_ID  # asks for the secret',
  ]
  static override flags = {
    'client-id': Flags.string({summary: 'Client id (or IDP_CLIENT_ID).'}),
    'client-secret': Flags.string({
      summary: 'Client secret. Prefer IDP_CLIENT_SECRET or the prompt: flags land in shell history.',
    }),
  }

  async run(): Promise<LoginResult> {
    const store = await ProfileStore.open(this.config.configDir)
    const result = await login(store, {
      apiUrl: this.flags['api-url'],
      ask: this.io.canPrompt ? (missing) => this.ask(missing) : undefined,
      clientId: this.flags['client-id'],
      clientSecret: this.flags['client-secret'],
      env: process.env,
      profile: this.flags.profile ?? 'default',
      userAgent: `idp/${this.config.version}`,
    })
    return this.emit(result, () =>
      this.io.out(`Logged in to ${result.apiUrl} as ${result.clientId} (profile "${result.profile}", now current).`),
    )
  }

  private async ask(missing: {clientId: boolean; clientSecret: boolean}) {
    const {inquirerPrompter} = await import('../prompts/prompter.js')
    const prompter = inquirerPrompter()
    const required = (value: string) => value.trim() !== '' || 'Required'
    const clientId = missing.clientId ? await prompter.input({message: 'Client id', validate: required}) : undefined
    const clientSecret = missing.clientSecret
      ? await prompter.password({message: 'Client secret', validate: required})
      : undefined
    return {clientId: clientId?.trim(), clientSecret: clientSecret?.trim()}
  }
}
