import {BaseCommand} from '../../base-command.js'

export interface AuthStatusResult {
  apiUrl: string
  apiUrlSource: string
  profile: string
  credentialsSource: string | null
  clientId: string | null
  authenticated: boolean
  configFile: string
}

export default class AuthStatus extends BaseCommand<typeof AuthStatus> {
  static override summary = 'Show which portal idp talks to, and check the credentials.'
  static override description =
    'Shows the API URL, the profile and where the credentials come from (never the secret), then gets a token to prove they work. Exits 4 when they do not.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    'IDP_PROFILE=us <%= config.bin %> <%= command.id %> --json',
  ]

  async run(): Promise<AuthStatusResult> {
    const {client, store, target} = await this.connect()
    const status: AuthStatusResult = {
      apiUrl: target.apiUrl,
      apiUrlSource: target.apiUrlSource,
      authenticated: false,
      clientId: target.credentials?.clientId ?? null,
      configFile: store.path,
      // IDP_TOKEN is sent as is, in place of any credentials.
      credentialsSource: target.credentials?.source ?? (process.env.IDP_TOKEN ? 'env:IDP_TOKEN' : null),
      profile: target.profileName,
    }
    await client.blueprints.list()
    status.authenticated = true
    return this.emit(status, () => {
      const {green} = this.io.color
      this.io.out(
        `${green('✓')} Authenticated to ${status.apiUrl} as ${status.clientId ?? 'the bearer token in IDP_TOKEN'}`,
      )
      this.io.out(
        `  URL from: ${status.apiUrlSource}; profile: ${status.profile}; credentials from: ${status.credentialsSource}`,
      )
      this.io.out(`  config: ${status.configFile}`)
    })
  }
}
