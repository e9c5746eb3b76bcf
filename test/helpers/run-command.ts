import {existsSync} from 'node:fs'

import {Config} from '@oclif/core'

import type {Connection} from '../../src/api/connect.js'
import type {BaseCommand} from '../../src/base-command.js'
import type {OutputStream} from '../../src/io/output.js'
import {ROOT, type CliResult} from './cli.js'

type CommandClass = (new (argv: string[], config: Config) => BaseCommand<never>) & {id?: string}

export interface RunOptions {
  /** What the command reads on stdin (for `-` file arguments); nothing by default. */
  input?: string
  /** Set in `process.env` for this run only (`undefined` unsets); the parser reads flag defaults there. */
  env?: Record<string, string | undefined>
  /** Stand-ins for the process's streams, e.g. `{stdout: {isTTY: true, …}}` to act as a terminal. */
  io?: {stdout?: Partial<OutputStream>; stderr?: Partial<OutputStream>; stdinIsTTY?: boolean}
  /** A connection to use instead of the one the flags, environment and profiles give. */
  connection?: Connection
  /** The current folder for this run (the test pool is forks, so the process is this file's own). */
  cwd?: string
}

let config: Promise<Config> | undefined

/**
 * Runs an idp command in this process, as `idp <id> ...argv` would: stdout and stderr are
 * captured, the exit code is read instead of exiting, and IDP_CONFIG_DIR from `env` is the
 * config dir. No TTY unless `io` says so. oclif's Config is loaded once per test file.
 */
export async function runCommand(Cmd: CommandClass, argv: string[], options: RunOptions = {}): Promise<CliResult> {
  const loaded = await (config ??= Config.load(ROOT))
  let stdout = ''
  let stderr = ''
  const restore = stubEnv(options.env ?? {})
  const savedExitCode = process.exitCode
  const savedConfigDir = loaded.configDir
  const savedCwd = process.cwd()
  process.exitCode = undefined
  let code: number
  try {
    if (options.cwd) process.chdir(options.cwd)
    loaded.configDir = process.env.IDP_CONFIG_DIR ?? savedConfigDir
    const command = new Cmd(argv, loaded)
    command.injected = {
      connection: options.connection,
      streams: {
        stderr: {...options.io?.stderr, write: (text: string) => (stderr += text)},
        stdin: {isTTY: options.io?.stdinIsTTY ?? false, readAll: () => options.input ?? ''},
        stdout: {...options.io?.stdout, write: (text: string) => (stdout += text)},
      },
    }
    try {
      // What oclif's static `run` does after `new`; protected, as only oclif calls it.
      await (command as unknown as {_run(): Promise<unknown>})._run()
      code = Number(process.exitCode ?? 0)
    } catch (error) {
      code = Number(process.exitCode ?? (error as {exitCode?: number}).exitCode ?? 1)
    }
  } finally {
    process.exitCode = savedExitCode
    loaded.configDir = savedConfigDir
    process.chdir(savedCwd)
    restore()
  }
  return {code, json: () => JSON.parse(stdout), stderr, stdout}
}

/** `runCommand` for `idp <words...>`: the command is found in src/commands by the longest leading words. */
export async function runIdp(args: string[], options: RunOptions = {}): Promise<CliResult> {
  for (let length = Math.min(args.length, 3); length > 0; length--) {
    const words = args.slice(0, length)
    if (words.some((word) => word.startsWith('-'))) continue
    for (const file of [words.join('/'), [...words, 'index'].join('/')]) {
      const path = `${ROOT}src/commands/${file}.ts`
      if (!existsSync(path)) continue
      const {default: Cmd} = (await import(/* @vite-ignore */ path)) as {default: CommandClass}
      Cmd.id ??= words.join(':')
      return runCommand(Cmd, args.slice(length), options)
    }
  }
  throw new Error(`no command in src/commands for: ${args.join(' ')}`)
}

function stubEnv(env: Record<string, string | undefined>): () => void {
  const saved = Object.keys(env).map((key) => [key, process.env[key]] as const)
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key]
    else process.env[key] = value
  }
  return () => {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  }
}
