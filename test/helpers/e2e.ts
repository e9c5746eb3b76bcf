import {readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {runCli, startCli, type CliResult} from './cli.js'
import {tempDir} from './portal.js'

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
  /** The admin credentials `portal serve` saved as the `local` profile. */
  credentials(): {clientId: string; clientSecret: string}
  /** What the portal process printed on stderr so far (its log). */
  log(): string
  stop(signal?: NodeJS.Signals): Promise<number | null>
  kill(): Promise<void>
}

/** `idp portal serve --port 0 --json` in a child process, with a fresh config and data dir. */
export async function servePortal(
  options: {dataDir?: string; configDir?: string; portalEnv?: Record<string, string>} = {},
): Promise<CliPortal> {
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
  const accessToken = () =>
    (token ??= (async () => {
      const response = await fetch(`${url}/v1/auth/access_token`, {
        body: JSON.stringify(credentials()),
        headers: {'content-type': 'application/json'},
        method: 'POST',
      })
      return ((await response.json()) as {accessToken: string}).accessToken
    })())
  return {
    credentials,
    token: accessToken,
    async api(method, path, body) {
      const response = await fetch(url + path, {
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: {authorization: `Bearer ${await accessToken()}`, 'content-type': 'application/json'},
        method,
      })
      return response.json()
    },
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

export const mode = (file: string) => (statSync(file).mode & 0o777).toString(8)

/** Waits until a run has ended (SUCCESS or FAILURE) and returns it. */
export async function runEnded(portal: CliPortal, id: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const {run} = await portal.api('GET', `/v1/actions/runs/${id}`)
    if (['SUCCESS', 'FAILURE'].includes(run.status)) return run
    if (Date.now() > deadline) throw new Error(`run ${id} is still ${run.status}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
