import {chmodSync, existsSync, mkdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import type Conf from 'conf'

import {usageError} from '../errors.js'

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
  /** For an embedded portal's admin profile: the data directory its credentials live in. */
  portalDataDir?: string
}

interface ConfigShape {
  currentProfile?: string
  profiles: Record<string, Profile>
}

/**
 * Named profiles in `<configDir>/config.json`. The file holds client secrets and tokens, so it is
 * written with mode 0600 inside a 0700 directory. Reads parse the file directly; writes go through
 * conf (atomic writes), which is loaded only then: it costs ~50 ms to import, and most commands
 * only read.
 */
export class ProfileStore {
  private data: ConfigShape
  private writer: Conf<ConfigShape> | undefined

  private constructor(readonly configDir: string) {
    this.data = readConfig(this.path)
  }

  static async open(configDir: string): Promise<ProfileStore> {
    return new ProfileStore(configDir)
  }

  get path(): string {
    return join(this.configDir, 'config.json')
  }

  get currentProfile(): string | undefined {
    return this.data.currentProfile
  }

  list(): Record<string, Profile> {
    return {...this.data.profiles}
  }

  get(name: string): Profile | undefined {
    return this.data.profiles[name]
  }

  async set(name: string, profile: Profile, {makeCurrent = false} = {}): Promise<void> {
    const conf = await this.writable()
    conf.set('profiles', {...conf.get('profiles'), [name]: profile})
    if (makeCurrent) conf.set('currentProfile', name)
    this.data = conf.store
  }

  async delete(name: string): Promise<boolean> {
    const conf = await this.writable()
    const profiles = {...conf.get('profiles')}
    if (!(name in profiles)) return false
    delete profiles[name]
    conf.set('profiles', profiles)
    if (conf.get('currentProfile') === name) conf.delete('currentProfile')
    this.data = conf.store
    return true
  }

  private async writable(): Promise<Conf<ConfigShape>> {
    if (!this.writer) {
      mkdirSync(this.configDir, {mode: 0o700, recursive: true})
      const {default: ConfStore} = await import('conf')
      this.writer = new ConfStore<ConfigShape>({
        configFileMode: 0o600,
        configName: 'config',
        cwd: this.configDir,
        defaults: {profiles: {}},
        projectName: 'idp',
      })
      // conf keeps an existing file's mode; tighten one written by an older version or by hand.
      chmodSync(this.writer.path, 0o600)
    }
    return this.writer
  }
}

function readConfig(path: string): ConfigShape {
  if (!existsSync(path)) return {profiles: {}}
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<ConfigShape>
  return {...parsed, profiles: parsed.profiles ?? {}}
}

/** `https://api.getport.io/v1/` and `https://api.getport.io` name the same API. */
export function normalizeApiUrl(url: string): string {
  // A bad URL is the user's to fix (exit 2), from --api-url, IDP_API_URL or PORT_API_URL.
  const hint = `Expected an http(s) URL: https://api.getport.io (EU), https://api.us.getport.io (US) or ${DEFAULT_LOCAL_URL} (the embedded portal).`
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw usageError(`The API URL "${url}" is not a URL.`, hint)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw usageError(`The API URL "${url}" must start with http:// or https://.`, hint)
  }
  return parsed.origin + parsed.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')
}
