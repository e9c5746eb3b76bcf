import {createTransport} from '../api/connect.js'
import {fetchToken} from '../api/token.js'
import {normalizeApiUrl, type ProfileStore} from '../config/profiles.js'
import {usageError} from '../errors.js'

export const PORT_EU_URL = 'https://api.getport.io'

export interface LoginInput {
  apiUrl?: string | undefined
  clientId?: string | undefined
  clientSecret?: string | undefined
  profile: string
  env: NodeJS.ProcessEnv
  userAgent: string
  /** Asks for whatever is missing; absent when prompting is not allowed. */
  ask?:
    | ((missing: {clientId: boolean; clientSecret: boolean}) => Promise<{clientId?: string; clientSecret?: string}>)
    | undefined
  trace?: ((line: string) => void) | undefined
}

export interface LoginResult {
  profile: string
  apiUrl: string
  clientId: string
  tokenExpiresAt: string
}

/** Checks the credentials by getting a token, then saves them (0600) as the current profile. */
export async function login(store: ProfileStore, input: LoginInput): Promise<LoginResult> {
  const apiUrl = normalizeApiUrl(input.apiUrl ?? input.env.PORT_API_URL ?? PORT_EU_URL)
  const {env} = input
  let clientId = input.clientId ?? env.IDP_CLIENT_ID ?? env.PORT_CLIENT_ID
  let clientSecret = input.clientSecret ?? env.IDP_CLIENT_SECRET ?? env.PORT_CLIENT_SECRET
  if ((!clientId || !clientSecret) && input.ask) {
    const answers = await input.ask({clientId: !clientId, clientSecret: !clientSecret})
    clientId ??= answers.clientId
    clientSecret ??= answers.clientSecret
  }
  if (!clientId || !clientSecret) {
    const missing = [
      ...(clientId ? [] : ['the client id: --client-id or IDP_CLIENT_ID']),
      ...(clientSecret ? [] : ['the client secret: IDP_CLIENT_SECRET (or --client-secret)']),
    ]
    throw usageError(
      `Missing ${missing.join('; and ')}.`,
      `Run \`idp login\` in a terminal to be asked, or: IDP_CLIENT_ID=… IDP_CLIENT_SECRET=… idp login --api-url ${apiUrl}`,
      {missing: [...(clientId ? [] : ['clientId']), ...(clientSecret ? [] : ['clientSecret'])]},
    )
  }

  const transport = await createTransport(apiUrl, input)
  try {
    const token = await fetchToken({
      apiUrl,
      credentials: {clientId, clientSecret, source: 'input'},
      loginHint: '',
      transport,
      unreachableHint: 'Check the URL: Port is https://api.getport.io (EU) or https://api.us.getport.io (US).',
    })
    await store.set(input.profile, {apiUrl, clientId, clientSecret, token}, {makeCurrent: true})
    return {apiUrl, clientId, profile: input.profile, tokenExpiresAt: new Date(token.expiresAt).toISOString()}
  } finally {
    await transport.close()
  }
}
