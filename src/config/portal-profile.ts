import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {userInfo} from 'node:os'
import {basename, resolve} from 'node:path'

import {LOCAL_PROFILE, type ProfileStore} from './profiles.js'

export interface PortalStart {
  dataDir: string
  url: string
  /** The admin credentials a first start created, if it did. */
  createdAdmin?: {clientId: string; clientSecret: string} | undefined
  /** Whether the portal's data directory holds a credential (so a profile's credentials are its). */
  holds: (clientId: string) => Promise<boolean>
}

export interface PortalProfile {
  name: string
  /** When `local` is another data directory's: the directory it belongs to. */
  localBelongsTo?: string | undefined
}

/**
 * Saves a started portal's admin profile, one profile per data directory, as `kubectl` keeps one
 * context per cluster: `local` for the first data directory, and for another one a name derived
 * from the directory, so a second portal never takes over the credentials of the first. A later
 * start of the same directory updates its profile's URL. Returns undefined when there is no
 * profile to save (a data directory whose profile was removed by hand).
 */
export async function savePortalProfile(
  profiles: ProfileStore,
  start: PortalStart,
): Promise<PortalProfile | undefined> {
  const dataDir = resolve(start.dataDir)
  const all = Object.entries(profiles.list())
  let name = all.find(([, profile]) => profile.portalDataDir === dataDir)?.[0]
  if (!name && !start.createdAdmin) {
    // Profiles saved before they recorded their data directory: theirs if the credential is here.
    for (const [candidate, profile] of all)
      if (!profile.portalDataDir && profile.clientId && (await start.holds(profile.clientId))) {
        name = candidate
        break
      }
  }
  const local = profiles.get(LOCAL_PROFILE)
  const localIsOther = (profile = local) =>
    profile?.clientId !== undefined &&
    (profile.portalDataDir === undefined
      ? true
      : profile.portalDataDir !== dataDir && existsSync(profile.portalDataDir))
  if (!name) {
    if (!start.createdAdmin) return undefined
    name = localIsOther() ? derivedName(dataDir, new Set(all.map(([key]) => key))) : LOCAL_PROFILE
  }
  const saved = profiles.get(name)
  await profiles.set(name, {
    ...(start.createdAdmin ? {} : saved),
    ...start.createdAdmin,
    apiUrl: start.url,
    portalDataDir: dataDir,
  })
  return {
    name,
    localBelongsTo: name === LOCAL_PROFILE ? undefined : (local?.portalDataDir ?? 'another data directory'),
  }
}

/** `local-<folder>`, with a short hash of the path when that name is taken. */
function derivedName(dataDir: string, taken: Set<string>): string {
  const folder = basename(dataDir)
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
  const plain = `${LOCAL_PROFILE}-${folder || 'portal'}`
  if (!taken.has(plain)) return plain
  return `${plain}-${createHash('sha256').update(dataDir).digest('hex').slice(0, 6)}`
}

/**
 * Who a portal's first admin stands for: the person starting it (`alice@localhost`), so what they
 * do (a dev environment's owner, a run's author) shows a person rather than `client_…@clients`.
 */
export function localAdminEmail(): string {
  let name = ''
  try {
    name = userInfo().username.replace(/[^A-Za-z0-9._-]+/g, '')
  } catch {
    // No passwd entry (some containers): the role names it.
  }
  return `${name || 'admin'}@localhost`
}
