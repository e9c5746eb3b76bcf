import {usageError} from '../errors.js'
import {didYouMean} from '../shared/suggest.js'
import {DEFAULT_LOCAL_URL, LOCAL_PROFILE, normalizeApiUrl, type Profile, type ProfileStore} from './profiles.js'

export interface Credentials {
  clientId: string
  clientSecret: string
  /** Where they came from, for `idp auth status` and auth errors (never the values themselves). */
  source: 'env:IDP' | 'env:PORT' | 'profile' | 'input'
  /** The profile they were read from (source `profile`). */
  profile?: string
}

/** Where credentials came from, in words for error messages. */
export function credentialsOrigin(credentials: Credentials): string {
  switch (credentials.source) {
    case 'env:IDP':
      return 'IDP_CLIENT_ID/IDP_CLIENT_SECRET in the environment'
    case 'env:PORT':
      return 'PORT_CLIENT_ID/PORT_CLIENT_SECRET in the environment'
    case 'input':
      return 'the client id and secret given'
    case 'profile':
      return `the profile "${credentials.profile ?? 'default'}"`
  }
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
 * Credentials: IDP_TOKEN (sent as is, so none) > IDP_CLIENT_ID/SECRET > PORT_CLIENT_ID/SECRET >
 * the profile — and a profile's credentials are only ever sent to the URL they were saved for.
 */
export function resolveTarget(store: ProfileStore, options: TargetOptions): Target {
  const {env} = options
  const explicitUrl = options.apiUrl ?? env.PORT_API_URL
  const apiUrlFromOptions = explicitUrl ? normalizeApiUrl(explicitUrl) : undefined
  const profiles = store.list()

  let profileName = options.profile
  if (profileName && !profiles[profileName]) {
    const names = Object.keys(profiles)
    throw usageError(
      `No profile "${profileName}".${didYouMean(profileName, names)}`,
      names.length
        ? `Profiles: ${names.join(', ')}. \`idp login --profile ${profileName}\` creates it.`
        : `No profile is saved yet: \`idp login --profile ${profileName}\` creates it.`,
    )
  }
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

  return {
    apiUrl,
    apiUrlSource,
    profileName,
    profile,
    credentials: env.IDP_TOKEN ? undefined : (envCredentials(env) ?? profileCredentials(profile, profileName)),
  }
}

/**
 * Credentials from IDP_CLIENT_ID/SECRET, else PORT_CLIENT_ID/SECRET. Half a pair is an error
 * naming the missing variable: falling back to a saved profile would act as someone else.
 */
export function envCredentials(env: NodeJS.ProcessEnv): Credentials | undefined {
  for (const prefix of ['IDP', 'PORT'] as const) {
    const clientId = env[`${prefix}_CLIENT_ID`]
    const clientSecret = env[`${prefix}_CLIENT_SECRET`]
    if (clientId && clientSecret) return {clientId, clientSecret, source: `env:${prefix}`}
    if (clientId || clientSecret) {
      const [set, missing] = clientId
        ? [`${prefix}_CLIENT_ID`, `${prefix}_CLIENT_SECRET`]
        : [`${prefix}_CLIENT_SECRET`, `${prefix}_CLIENT_ID`]
      throw usageError(
        `${set} is set but ${missing} is not.`,
        `Set ${missing} too, or unset ${set} to use a saved profile.`,
      )
    }
  }
  return undefined
}

function profileCredentials(profile: Profile | undefined, name: string): Credentials | undefined {
  if (!profile?.clientId || !profile.clientSecret) return undefined
  return {clientId: profile.clientId, clientSecret: profile.clientSecret, profile: name, source: 'profile'}
}
