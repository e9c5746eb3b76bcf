import {DEFAULT_LOCAL_URL, ProfileStore, type Profile} from '../config/profiles.js'
import {resolveTarget, type Credentials, type Target} from '../config/session.js'
import {shellQuote} from '../shared/shell-quote.js'
import {HttpTransport} from './http.js'
import {PortClient} from './port-client.js'
import {TokenProvider, type TokenCache} from './token.js'

export interface ConnectOptions {
  configDir: string
  apiUrl?: string | undefined
  profile?: string | undefined
  env?: NodeJS.ProcessEnv
  userAgent: string
  /** Where IDP_DEBUG=http traces go (stderr in the CLI). */
  trace?: (line: string) => void
  /** Told when requests wait for the API's rate-limit window (ms). */
  onRateWait?: (ms: number) => void
}

export interface Connection {
  client: PortClient
  target: Target
  store: ProfileStore
}

export function hints(apiUrl: string, profile?: Profile): {login: string; unreachable: string} {
  if (profile?.portalDataDir) {
    // An embedded portal's profile knows which portal to start: that data directory, on that port.
    const port = new URL(apiUrl).port
    const serve = `idp portal serve${port && port !== '5480' ? ` --port ${port}` : ''} --data-dir ${shellQuote(profile.portalDataDir)}`
    return {
      login: `Its credentials are no longer in ${profile.portalDataDir}: start that portal with \`${serve}\`, or log in with \`idp login --api-url ${apiUrl}\`.`,
      unreachable: `Start its portal with \`${serve}\` (or pick another profile with --profile).`,
    }
  }
  const local = apiUrl === DEFAULT_LOCAL_URL || /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])/.test(apiUrl)
  const login = local
    ? 'Start the embedded portal with `idp portal serve` (it saves the `local` profile), or log in with `idp login --api-url URL`.'
    : `Run \`idp login --api-url ${apiUrl}\`, or set IDP_CLIENT_ID and IDP_CLIENT_SECRET.`
  const unreachable = local
    ? `Start the embedded portal with \`idp portal serve\`, or log in to Port with \`idp login --api-url https://api.getport.io\`.`
    : 'Check the URL and your network, or pass another with --api-url.'
  return {login, unreachable}
}

export async function createTransport(
  apiUrl: string,
  options: Pick<ConnectOptions, 'trace' | 'userAgent' | 'onRateWait'>,
) {
  return HttpTransport.create({
    baseUrl: apiUrl,
    onRateWait: options.onRateWait,
    trace: options.trace,
    userAgent: options.userAgent,
  })
}

/** The API client for a portal and credentials, with the hints its errors give. */
export async function createClient(
  options: {
    apiUrl: string
    credentials: Credentials | undefined
    cache?: TokenCache | undefined
    /** A ready access token (IDP_TOKEN), used instead of the credentials. */
    accessToken?: string | undefined
    /** The profile the credentials come from: an embedded portal's says which portal to start. */
    profile?: Profile | undefined
  } & Pick<ConnectOptions, 'trace' | 'userAgent' | 'onRateWait'>,
): Promise<PortClient> {
  const {accessToken, apiUrl, cache, credentials} = options
  const transport = await createTransport(apiUrl, options)
  const {login, unreachable} = hints(apiUrl, options.profile)
  const tokens = new TokenProvider({
    accessToken,
    apiUrl,
    cache,
    credentials,
    loginHint: login,
    transport,
    unreachableHint: unreachable,
  })
  return new PortClient({apiUrl, tokens, transport, unreachableHint: unreachable})
}

/** Resolve the target portal and credentials, and build the API client for it. */
export async function connect(options: ConnectOptions): Promise<Connection> {
  const env = options.env ?? process.env
  const store = await ProfileStore.open(options.configDir)
  const target = resolveTarget(store, {apiUrl: options.apiUrl, env, profile: options.profile})
  const cache: TokenCache | undefined =
    target.profile && target.credentials?.source === 'profile'
      ? {
          load: () => target.profile?.token,
          async save(token) {
            const latest = store.get(target.profileName)
            if (latest) await store.set(target.profileName, {...latest, token})
          },
        }
      : undefined
  const client = await createClient({
    ...options,
    accessToken: env.IDP_TOKEN || undefined,
    apiUrl: target.apiUrl,
    cache,
    credentials: target.credentials,
    profile: target.profile,
  })
  return {client, store, target}
}
