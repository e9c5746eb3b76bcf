import {DEFAULT_LOCAL_URL, LOCAL_PROFILE, normalizeApiUrl, type Profile, type ProfileStore} from './profiles.js'

export interface Credentials {
  clientId: string
  clientSecret: string
  /** Where they came from, for `idp auth status` (never the values themselves). */
  source: 'env:IDP' | 'env:PORT' | 'profile'
}

export interface Target {
  apiUrl: string
  apiUrlSource: 'flag' | 'env:PORT_API_URL' | 'profile' | 'default'
  profileName: string
  /** The profile whose credentials and token cache are used; only when its URL is the target URL. */
  profile: Profile | undefined
  credentials: Credentials | undefined
}

export interface TargetOptions {
  /** --api-url or IDP_API_URL (oclif reads the env var into the flag). */
  apiUrl?: string | undefined
  /** --profile or IDP_PROFILE. */
  profile?: string | undefined
  env: NodeJS.ProcessEnv
}

/**
 * Decide which portal to talk to and with which credentials.
 * URL: --api-url/IDP_API_URL > PORT_API_URL > the profile's URL > the local embedded portal.
 * Profile: --profile/IDP_PROFILE > a profile saved for that URL > the current profile > `local`.
 * Credentials: IDP_CLIENT_ID/SECRET > PORT_CLIENT_ID/SECRET > the profile — and a profile's
 * credentials are only ever sent to the URL they were saved for.
 */
export function resolveTarget(store: ProfileStore, options: TargetOptions): Target {
  const {env} = options
  const explicitUrl = options.apiUrl ?? env.PORT_API_URL
  const apiUrlFromOptions = explicitUrl ? normalizeApiUrl(explicitUrl) : undefined
  const profiles = store.list()

  let profileName = options.profile
  if (!profileName && apiUrlFromOptions) {
    const current = store.currentProfile
    const matching =
      current && profiles[current] && normalizeApiUrl(profiles[current].apiUrl) === apiUrlFromOptions
        ? current
        : Object.keys(profiles).find((name) => normalizeApiUrl(profiles[name]!.apiUrl) === apiUrlFromOptions)
    profileName = matching
  }
  profileName ??= store.currentProfile ?? LOCAL_PROFILE
  const saved = profiles[profileName]

  const apiUrl = apiUrlFromOptions ?? (saved ? normalizeApiUrl(saved.apiUrl) : DEFAULT_LOCAL_URL)
  const apiUrlSource = options.apiUrl ? 'flag' : env.PORT_API_URL ? 'env:PORT_API_URL' : saved ? 'profile' : 'default'
  const profile = saved && normalizeApiUrl(saved.apiUrl) === apiUrl ? saved : undefined

  return {apiUrl, apiUrlSource, profileName, profile, credentials: envCredentials(env) ?? profileCredentials(profile)}
}

export function envCredentials(env: NodeJS.ProcessEnv): Credentials | undefined {
  if (env.IDP_CLIENT_ID && env.IDP_CLIENT_SECRET) {
    return {clientId: env.IDP_CLIENT_ID, clientSecret: env.IDP_CLIENT_SECRET, source: 'env:IDP'}
  }
  if (env.PORT_CLIENT_ID && env.PORT_CLIENT_SECRET) {
    return {clientId: env.PORT_CLIENT_ID, clientSecret: env.PORT_CLIENT_SECRET, source: 'env:PORT'}
  }
  return undefined
}

function profileCredentials(profile: Profile | undefined): Credentials | undefined {
  if (!profile?.clientId || !profile.clientSecret) return undefined
  return {clientId: profile.clientId, clientSecret: profile.clientSecret, source: 'profile'}
}
