import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {join, relative, resolve, sep} from 'node:path'

export interface CatalogSource {
  /** Readable identity, e.g. `github.com/acme/platform:catalog`. */
  name: string
  /** Short stable key used in the portal's ownership records. */
  key: string
  from: 'flag' | 'env' | 'config' | 'git'
}

const keyOf = (name: string) => createHash('sha256').update(name).digest('hex').slice(0, 16)

/**
 * Which catalog source a folder is, so that prune only deletes what this source created. It must
 * not depend on where the folder is checked out (CI clones somewhere new every run):
 * --source > IDP_CATALOG_SOURCE > "source" in <DIR>/idp-catalog.json > git remote + path in the repo.
 */
export function resolveSource(
  root: string,
  options: {flag?: string | undefined; env: NodeJS.ProcessEnv},
): CatalogSource | undefined {
  const named = (name: string, from: CatalogSource['from']) => ({from, key: keyOf(name), name})
  if (options.flag) return named(options.flag, 'flag')
  if (options.env.IDP_CATALOG_SOURCE) return named(options.env.IDP_CATALOG_SOURCE, 'env')
  const config = join(root, 'idp-catalog.json')
  if (existsSync(config)) {
    const source = (JSON.parse(readFileSync(config, 'utf8')) as {source?: unknown}).source
    if (typeof source === 'string' && source.trim()) return named(source.trim(), 'config')
  }
  const git = gitIdentity(root)
  return git ? named(git, 'git') : undefined
}

function gitIdentity(root: string): string | undefined {
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', root, ...args], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim()
  try {
    const remote = git('config', '--get', 'remote.origin.url')
    const top = git('rev-parse', '--show-toplevel')
    const path = relative(top, resolve(root)).split(sep).join('/') || '.'
    return `${normalizeRemote(remote)}:${path}`
  } catch {
    return undefined
  }
}

/** `git@github.com:acme/x.git`, `https://user:token@github.com/acme/x` → `github.com/acme/x`. */
export function normalizeRemote(remote: string): string {
  return remote
    .replace(/^[a-z+]+:\/\//i, '')
    .replace(/^[^@/]+@/, '')
    .replace(/^([^/:]+):(?!\d)/, '$1/')
    .replace(/\.git$/, '')
    .replace(/\/+$/, '')
    .toLowerCase()
}
