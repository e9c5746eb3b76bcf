import {chmodSync, mkdirSync} from 'node:fs'

import type Conf from 'conf'

export const LOCAL_PROFILE = 'local'
export const DEFAULT_LOCAL_URL = 'http://127.0.0.1:5480'

export interface CachedToken {
  accessToken: string
  /** Epoch milliseconds. */
  expiresAt: number
}

export interface Profile {
  apiUrl: string
  clientId?: string
  clientSecret?: string
  token?: CachedToken
}

interface ConfigShape {
  currentProfile?: string
  profiles: Record<string, Profile>
}

/**
 * Named profiles in `<configDir>/config.json` (conf). The file holds client secrets and tokens,
 * so it is written with mode 0600 inside a 0700 directory.
 */
export class ProfileStore {
  private constructor(private readonly conf: Conf<ConfigShape>) {}

  static async open(configDir: string): Promise<ProfileStore> {
    mkdirSync(configDir, {recursive: true, mode: 0o700})
    const {default: ConfStore} = await import('conf')
    const conf = new ConfStore<ConfigShape>({
      configFileMode: 0o600,
      configName: 'config',
      cwd: configDir,
      defaults: {profiles: {}},
      projectName: 'idp',
    })
    // conf keeps an existing file's mode; tighten one written by an older version or by hand.
    chmodSync(conf.path, 0o600)
    return new ProfileStore(conf)
  }

  get path(): string {
    return this.conf.path
  }

  get currentProfile(): string | undefined {
    return this.conf.get('currentProfile')
  }

  list(): Record<string, Profile> {
    return this.conf.get('profiles')
  }

  get(name: string): Profile | undefined {
    return this.list()[name]
  }

  set(name: string, profile: Profile, {makeCurrent = false} = {}): void {
    this.conf.set('profiles', {...this.list(), [name]: profile})
    if (makeCurrent) this.conf.set('currentProfile', name)
  }

  delete(name: string): boolean {
    const profiles = this.list()
    if (!(name in profiles)) return false
    delete profiles[name]
    this.conf.set('profiles', profiles)
    if (this.currentProfile === name) this.conf.delete('currentProfile')
    return true
  }
}

/** `https://api.getport.io/v1/` and `https://api.getport.io` name the same API. */
export function normalizeApiUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new TypeError(`"${url}" is not a URL (expected e.g. https://api.getport.io or ${DEFAULT_LOCAL_URL})`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`"${url}" must be an http:// or https:// URL`)
  }
  return parsed.origin + parsed.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')
}
