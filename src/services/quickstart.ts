import {execFileSync} from 'node:child_process'
import {cpSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {createClient} from '../api/connect.js'
import type {PortClient} from '../api/port-client.js'
import {isFinal, type Run} from '../model/port.js'
import {applyPlan, type SyncSummary} from '../catalog/apply.js'
import {startPortal, type RunningPortal} from '../portal/server.js'
import {Agent, loadHandlers} from './agent.js'
import {prepareSync} from './catalog.js'

export const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url))

export interface QuickstartOptions {
  dataDir?: string | undefined
  port: number
  userAgent: string
  /** Who the portal's first admin stands for (see `localAdminEmail`). */
  adminEmail?: string | undefined
}

/** The pieces quickstart starts, to be used in steps and stopped (or kept) at the end. */
export interface Quickstart {
  portal: RunningPortal
  client: PortClient
  agent: Agent
  dataDir: string
  credentials: {clientId: string; clientSecret: string}
  /** The catalog repository provision_resource commits to; undefined without git. */
  gitopsRepo: string | undefined
  stop(): Promise<void>
}

/** Starts the embedded portal, syncs examples/catalog and starts the agent with examples/handlers. */
export async function startQuickstart(options: QuickstartOptions): Promise<Quickstart & {sync: SyncSummary}> {
  const temporary = options.dataDir === undefined
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'idp-quickstart-'))
  const portal = await startPortal({adminEmail: options.adminEmail, dataDir, port: options.port})
  const admin = await portal.store.adminCredential()
  const credentials = {clientId: admin!.clientId, clientSecret: admin!.clientSecret}
  const client = await createClient({
    apiUrl: portal.url,
    credentials: {...credentials, source: 'profile'},
    userAgent: options.userAgent,
  })

  const sync = await syncCatalog(client, join(EXAMPLES, 'catalog'))
  const gitopsRepo = createGitOpsRepo(join(dataDir, 'gitops'))
  const scaffoldDir = join(dataDir, 'scaffold')

  const agent = new Agent({
    apiUrl: portal.url,
    client,
    concurrency: 4,
    env: {IDP_SCAFFOLD_DIR: scaffoldDir, ...(gitopsRepo ? {IDP_GITOPS_REPO: gitopsRepo} : {})},
    handlers: loadHandlers([], join(EXAMPLES, 'handlers')),
    installationId: 'quickstart',
    log: () => {},
    pollMs: 200,
    secret: credentials.clientSecret,
    token: () => client.token(),
    visibilityTimeoutMs: 60_000,
  })
  const agentDone = agent.run()
  return {
    agent,
    client,
    credentials,
    dataDir,
    gitopsRepo,
    portal,
    async stop() {
      await agent.stop(5000)
      await agentDone
      await client.close()
      await portal.close()
      if (temporary) rmSync(dataDir, {force: true, recursive: true})
    },
    sync,
  }
}

/** What `idp catalog sync FOLDER` does, without the command around it. */
export async function syncCatalog(client: PortClient, folder: string): Promise<SyncSummary> {
  const prepared = await prepareSync(client, folder, {env: {}, force: false, prune: false})
  if (prepared.errors.length > 0) throw new Error(`${folder} is invalid: ${prepared.errors[0]!.message}`)
  return applyPlan(client, prepared.plan, prepared.remote, prepared.ownership)
}

/**
 * A catalog repository for the GitOps example: examples/catalog committed under catalog/ on
 * main. Undefined when git is not installed (quickstart then skips that step).
 */
function createGitOpsRepo(dir: string): string | undefined {
  try {
    execFileSync('git', ['--version'], {stdio: 'ignore'})
  } catch {
    return undefined
  }
  mkdirSync(dir, {recursive: true})
  cpSync(join(EXAMPLES, 'catalog'), join(dir, 'catalog'), {recursive: true})
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], {stdio: 'ignore'})
  git('init', '--quiet', '--initial-branch', 'main')
  git('add', 'catalog')
  git('-c', 'user.name=idp quickstart', '-c', 'user.email=quickstart@localhost', 'commit', '--quiet', '-m', 'Catalog')
  return dir
}

/** Merges a reviewed branch into main, as a pull request would. */
export function mergeBranch(repo: string, branch: string): void {
  execFileSync(
    'git',
    [
      '-C',
      repo,
      '-c',
      'user.name=idp quickstart',
      '-c',
      'user.email=quickstart@localhost',
      'merge',
      '--quiet',
      '--no-edit',
      branch,
    ],
    {stdio: 'ignore'},
  )
}

/** Waits until a run ends (quickstart follows the first run itself, with the normal watch view). */
export async function waitForRun(client: PortClient, id: string, timeoutMs = 60_000): Promise<Run> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const run = await client.runs.get(id)
    if (isFinal(run)) return run
    if (Date.now() > deadline) throw new Error(`run ${id} did not end within ${timeoutMs / 1000}s`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Polls until the entity is gone; the time it took, or undefined at the timeout. */
export async function waitUntilDeleted(
  client: PortClient,
  blueprint: string,
  identifier: string,
  timeoutMs: number,
): Promise<number | undefined> {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    try {
      await client.entities.get(blueprint, identifier)
    } catch (error) {
      if ((error as {status?: number}).status === 404) return Date.now() - started
      throw error
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return undefined
}
