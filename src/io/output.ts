import {readFileSync} from 'node:fs'

import {Chalk, type ChalkInstance} from 'chalk'

/**
 * Where a command writes. Data goes to stdout; prompts, progress and diagnostics go to stderr,
 * so `idp ... --json | jq` and `idp ... > file` always get clean output.
 */
export interface IO {
  out(text: string): void
  err(text: string): void
  /** All of stdin, for a `-` file argument. */
  readInput(): string
  readonly stdoutIsTTY: boolean
  readonly stderrIsTTY: boolean
  /** True only on an interactive terminal without CI, --no-input or --json on a non-TTY. */
  readonly canPrompt: boolean
  readonly color: ChalkInstance
  /** The terminal's width, for tables (absent: 100). */
  readonly columns?: number
}

/** A stream a command writes to: the process's own, or a test's capture (`isTTY` unset: not a terminal). */
export interface OutputStream {
  write(text: string): unknown
  readonly isTTY?: boolean
  readonly columns?: number
}

/** The streams a command runs with; each one left out is the process's. */
export interface Streams {
  stdout?: OutputStream
  stderr?: OutputStream
  stdin?: {readonly isTTY?: boolean; readAll?(): string}
}

export interface IOOptions extends Streams {
  noInput?: boolean
  env?: NodeJS.ProcessEnv
}

/** `NO_COLOR` (any value) wins; `FORCE_COLOR` forces; otherwise colour only on a TTY. */
export function colorLevel(env: NodeJS.ProcessEnv, isTTY: boolean): 0 | 1 {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR === '0' ? 0 : 1
  return isTTY && env.TERM !== 'dumb' ? 1 : 0
}

export function isCI(env: NodeJS.ProcessEnv): boolean {
  const ci = env.CI
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false'
}

export function systemIO(options: IOOptions = {}): IO {
  const env = options.env ?? process.env
  const stdout = options.stdout ?? process.stdout
  const stderr = options.stderr ?? process.stderr
  const stdin: NonNullable<Streams['stdin']> = options.stdin ?? process.stdin
  const stdoutIsTTY = Boolean(stdout.isTTY)
  const stderrIsTTY = Boolean(stderr.isTTY)
  const canPrompt = Boolean(stdin.isTTY) && stderrIsTTY && !isCI(env) && !options.noInput
  return {
    out: (text) => stdout.write(text.endsWith('\n') ? text : text + '\n'),
    err: (text) => stderr.write(text.endsWith('\n') ? text : text + '\n'),
    readInput: () => (stdin.readAll ? stdin.readAll() : readFileSync(0, 'utf8')),
    stdoutIsTTY,
    stderrIsTTY,
    canPrompt,
    color: new Chalk({level: colorLevel(env, stdoutIsTTY)}),
    columns: stdout.columns || Number(env.COLUMNS) || 100,
  }
}
