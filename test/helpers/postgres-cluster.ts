import {execFileSync} from 'node:child_process'
import {chownSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/**
 * A throwaway PostgreSQL cluster for one test run, under `root`: started by the first test file
 * that asks for it (so runs without PostgreSQL tests pay nothing), stopped by the global teardown.
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` OS user.
 */
export interface ClusterState {
  /** The superuser's URL once the cluster is up. */
  url?: string
  /** Why there is no cluster (no PostgreSQL here). */
  unavailable?: string
}

const STATE = 'state.json'

/** This run's cluster folder, as vitest's main process (global setup, reporter) names it. */
export const runClusterRoot = () => join(tmpdir(), `idp-test-postgres-${process.pid}`)

/** How to run the PostgreSQL tests where they were skipped. */
export const HOW_TO_RUN_POSTGRES =
  'install PostgreSQL (Debian: apt-get install postgresql) or set IDP_TEST_DATABASE_URL=postgres://USER@HOST/DB'

/** The binaries' folder: Debian's newest /usr/lib/postgresql/N/bin, else whatever PATH has. */
function binaries(): string | undefined {
  const debian = '/usr/lib/postgresql'
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((name) => existsSync(join(debian, name, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a))
    if (versions[0]) return join(debian, versions[0], 'bin')
  }
  for (const folder of (process.env.PATH ?? '').split(':')) if (existsSync(join(folder, 'initdb'))) return folder
  return undefined
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Starts the cluster in `root` (which the caller has just created) and records its state there. */
export async function startCluster(root: string): Promise<ClusterState> {
  const state = await start(root).catch((error: Error) => ({unavailable: error.message}))
  writeFileSync(join(root, `${STATE}.tmp`), JSON.stringify(state))
  renameSync(join(root, `${STATE}.tmp`), join(root, STATE))
  return state
}

async function start(root: string): Promise<ClusterState> {
  const bin = binaries()
  if (!bin) return {unavailable: 'no PostgreSQL (initdb) found'}
  const asRoot = process.getuid?.() === 0
  let run = (command: string, args: string[]) => execFileSync(join(bin, command), args, {stdio: 'pipe'})
  if (asRoot) {
    const user = execFileSync('id', ['-u', 'postgres'], {stdio: 'pipe'}).toString().trim()
    const group = execFileSync('id', ['-g', 'postgres'], {stdio: 'pipe'}).toString().trim()
    chownSync(root, Number(user), Number(group))
    run = (command, args) =>
      execFileSync('runuser', ['-u', 'postgres', '--', join(bin, command), ...args], {stdio: 'pipe'})
  }
  const data = join(root, 'data')
  const port = await freePort()
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'])
  // Test data need not survive a crash: no fsync makes every commit cheap.
  const settings = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`
  run('pg_ctl', ['-D', data, '-o', settings, '-l', join(root, 'log'), '-w', 'start'])
  return {url: `postgres://postgres@127.0.0.1:${port}/postgres`}
}

/** Stops the cluster in `root`, if one was started, and removes the folder. */
export function stopCluster(root: string): void {
  const data = join(root, 'data')
  if (existsSync(join(data, 'postmaster.pid'))) {
    const bin = binaries()!
    const args = ['-D', data, '-m', 'immediate', 'stop']
    if (process.getuid?.() === 0) execFileSync('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), ...args])
    else execFileSync(join(bin, 'pg_ctl'), args)
  }
  rmSync(root, {force: true, recursive: true})
}

/** The recorded state of the cluster in `root`, once its starter has written it. */
export function clusterState(root: string): ClusterState | undefined {
  const file = join(root, STATE)
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ClusterState) : undefined
}

/** Claims `root` for starting the cluster: true for exactly one caller. */
export function claimCluster(root: string): boolean {
  try {
    mkdirSync(root, {mode: 0o700})
    return true
  } catch {
    return false
  }
}
