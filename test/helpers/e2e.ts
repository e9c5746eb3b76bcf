import {cpSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {ProfileStore, LOCAL_PROFILE} from '../../src/config/profiles.js'
import type {PortalOptions} from '../../src/portal/server.js'
import {ROOT, runCli, startCli, type CliResult} from './cli.js'
import {accessToken, request, until} from './http.js'
import {startTestPortal, tempDir} from './portal.js'
import {runIdp} from './run-command.js'

/** The example catalog (blueprints, entities, actions) that ships in the package. */
export const EXAMPLE_CATALOG = join(ROOT, 'examples/catalog')

/** A copy of the example catalog in a temporary folder, for tests that edit it. */
export function copyExampleCatalog(): string {
  const dir = tempDir('idp-catalog-')
  cpSync(EXAMPLE_CATALOG, dir, {recursive: true})
  return dir
}

export interface CliPortal {
  url: string
  configDir: string
  dataDir: string
  env: Record<string, string>
  /** Runs the CLI against this portal with its own config dir (profile `local`). */
  run(args: string[], env?: Record<string, string | undefined>): Promise<CliResult>
  /** A raw API call as the portal's admin (the `local` profile's credentials); the parsed JSON answer. */
  api(method: string, path: string, body?: unknown): Promise<any>
  /** The admin's access token. */
  token(): Promise<string>
  /** The admin credentials saved as the `local` profile. */
  credentials(): {clientId: string; clientSecret: string}
  /** What the portal logged so far. */
  log(): string
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * The portal in this process and a config dir whose `local` profile holds its admin, as
 * `idp portal serve` leaves it; `run` runs commands in-process (see run-command.ts).
 */
export async function localPortal(
  options: {dataDir?: string; configDir?: string; portal?: Partial<PortalOptions>} = {},
): Promise<CliPortal> {
  const configDir = options.configDir ?? tempDir('idp-config-')
  let log = ''
  const portal = await startTestPortal({
    ...options.portal,
    dataDir: options.dataDir ?? tempDir('idp-data-'),
    onError: (error) => (log += `portal: ${(error as Error).message}\n`),
  })
  const profiles = await ProfileStore.open(configDir)
  await profiles.set(LOCAL_PROFILE, {apiUrl: portal.url, ...portal.admin})
  const env = {IDP_CONFIG_DIR: configDir}
  return {
    ...adminApi(portal.url, () => portal.admin, portal.token),
    configDir,
    dataDir: portal.dataDir,
    env,
    log: () => log,
    run: (args, extra = {}) => runIdp(args, {env: {...env, ...extra}}),
    async stop() {
      await portal.close()
      return 0
    },
    url: portal.url,
  }
}

export interface ServedPortal extends CliPortal {
  /** SIGKILL: the portal does no shutdown work at all. */
  kill(): Promise<void>
}

/** `idp portal serve --port 0 --json` in a child process, with a fresh config and data dir. */
export async function servePortal(
  options: {dataDir?: string; configDir?: string; portalEnv?: Record<string, string>} = {},
): Promise<ServedPortal> {
  const configDir = options.configDir ?? tempDir('idp-config-')
  const dataDir = options.dataDir ?? tempDir('idp-data-')
  const env = {IDP_CONFIG_DIR: configDir}
  const served = startCli(['portal', 'serve', '--port', '0', '--json', '--data-dir', dataDir], {
    ...env,
    ...options.portalEnv,
  })
  const {url} = JSON.parse(await served.firstLine) as {url: string}
  const credentials = () => {
    const {clientId, clientSecret} = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')).profiles.local
    return {clientId: clientId as string, clientSecret: clientSecret as string}
  }
  let token: Promise<string> | undefined
  return {
    ...adminApi(url, credentials, () => (token ??= accessToken(url, credentials()))),
    configDir,
    dataDir,
    env,
    async kill() {
      served.child.kill('SIGKILL')
      await served.exited
    },
    log: () => served.stderr(),
    run: (args, extra = {}) => runCli(args, {env: {...env, ...extra}}),
    async stop(signal = 'SIGTERM') {
      served.child.kill(signal)
      return served.exited
    },
    url,
  }
}

function adminApi(
  url: string,
  credentials: () => {clientId: string; clientSecret: string},
  token: () => Promise<string>,
): Pick<CliPortal, 'api' | 'credentials' | 'token'> {
  return {
    async api(method, path, body) {
      return (await request(url, method, path, {body, token: await token()})).body
    },
    credentials,
    token,
  }
}

export const mode = (file: string) => (statSync(file).mode & 0o777).toString(8)

/** Waits until a run has ended (SUCCESS or FAILURE) and returns it. */
export async function runEnded(portal: Pick<CliPortal, 'api'>, id: string, timeoutMs = 20_000) {
  return until(async () => {
    const {run} = await portal.api('GET', `/v1/actions/runs/${id}`)
    return ['SUCCESS', 'FAILURE'].includes(run.status) ? run : undefined
  }, timeoutMs)
}
