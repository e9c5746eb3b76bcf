import {statSync} from 'node:fs'

import {runCli, startCli, type CliResult} from './cli.js'
import {tempDir} from './portal.js'

export interface CliPortal {
  url: string
  configDir: string
  dataDir: string
  env: Record<string, string>
  /** Runs the CLI against this portal with its own config dir (profile `local`). */
  run(args: string[], env?: Record<string, string | undefined>): Promise<CliResult>
  stop(signal?: NodeJS.Signals): Promise<number | null>
  kill(): Promise<void>
}

/** `idp portal serve --port 0 --json` in a child process, with a fresh config and data dir. */
export async function servePortal(options: {dataDir?: string; configDir?: string} = {}): Promise<CliPortal> {
  const configDir = options.configDir ?? tempDir('idp-config-')
  const dataDir = options.dataDir ?? tempDir('idp-data-')
  const env = {IDP_CONFIG_DIR: configDir}
  const served = startCli(['portal', 'serve', '--port', '0', '--json', '--data-dir', dataDir], env)
  const {url} = JSON.parse(await served.firstLine) as {url: string}
  return {
    configDir,
    dataDir,
    env,
    async kill() {
      served.child.kill('SIGKILL')
      await served.exited
    },
    run: (args, extra = {}) => runCli(args, {env: {...env, ...extra}}),
    async stop(signal = 'SIGTERM') {
      served.child.kill(signal)
      return served.exited
    },
    url,
  }
}

export const mode = (file: string) => (statSync(file).mode & 0o777).toString(8)
