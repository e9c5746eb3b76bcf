import {Command, Flags, type Interfaces} from '@oclif/core'

import type {Connection} from './api/connect.js'
import {ExitCode, IdpError, usageError} from './errors.js'
import {systemIO, type IO, type Streams} from './io/output.js'
import {didYouMean} from './shared/suggest.js'
import {parseDuration} from './shared/when.js'

export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

const portalFlags = {
  'api-url': Flags.string({
    env: 'IDP_API_URL',
    helpGroup: 'GLOBAL',
    summary: 'Portal API base URL (Port: https://api.getport.io or https://api.us.getport.io).',
  }),
  profile: Flags.string({env: 'IDP_PROFILE', helpGroup: 'GLOBAL', summary: 'Named profile to use.'}),
}
const localFlags = {
  json: Flags.boolean({helpGroup: 'GLOBAL', summary: 'Print a JSON object to stdout instead of text.'}),
  jq: Flags.string({
    char: 'q',
    helpGroup: 'GLOBAL',
    summary: 'Filter the JSON output with a jq expression (implies --json); strings print without quotes.',
  }),
  'no-input': Flags.boolean({
    helpGroup: 'GLOBAL',
    summary: 'Never prompt; a missing value is a usage error. Implied without a TTY or when CI is set.',
  }),
}

/**
 * Every idp command extends this. It owns the global flags, the IO streams, the `--json`
 * contract (a result object on stdout; errors as `{"error": {...}}` with the same exit code)
 * and the mapping of every failure to a documented exit code.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  /** Every command's flags; commands that work on local files, not a portal, leave out `portalFlags`. */
  static override baseFlags: typeof localFlags & Partial<typeof portalFlags> = {...portalFlags, ...localFlags}
  static readonly localBaseFlags = localFlags

  protected flags!: CommandFlags<T>
  protected args!: CommandArgs<T>
  protected io!: IO
  /** Every positional argument, for commands that take a variable number (`static strict = false`). */
  protected positional: string[] = []
  /**
   * The seam for running a command in-process (gh's `iostreams.Test()`): set before `_run()`, it
   * replaces the process's streams, and a given connection is used instead of one built from the
   * flags, environment and profiles (the caller owns it, so it is not closed). Commands never read
   * it; they use `this.io` and `this.connect()`.
   */
  public injected: {streams?: Streams; connection?: Connection} = {}
  private connection: Connection | undefined
  /** NDJSON lines filtered by --jq, printed in order. */
  private jsonLines: Promise<void> = Promise.resolve()

  public override async init(): Promise<void> {
    await super.init()
    this.io = systemIO(this.injected.streams)
    const {args, argv, flags} = await this.parse({
      args: this.ctor.args,
      baseFlags: (this.ctor as unknown as typeof BaseCommand).baseFlags,
      flags: this.ctor.flags,
      strict: this.ctor.strict,
    })
    this.flags = flags as CommandFlags<T>
    this.args = args as CommandArgs<T>
    this.positional = argv.map(String)
    this.io = systemIO({...this.injected.streams, noInput: this.flags['no-input']})
  }

  /** The API client for the target portal, built on first use (undici and conf load only then). */
  protected async connect(): Promise<Connection> {
    if (this.injected.connection) return this.injected.connection
    if (!this.connection) {
      const {connect} = await import('./api/connect.js')
      const tracing = (process.env.IDP_DEBUG ?? '').split(',').includes('http')
      this.connection = await connect({
        apiUrl: this.flags['api-url'],
        configDir: this.config.configDir,
        profile: this.flags.profile,
        onRateWait: (ms) =>
          this.note(`Rate limit reached: waiting ${Math.ceil(ms / 1000)}s for the API's next window…`),
        trace: tracing ? (line) => this.io.err(line) : undefined,
        userAgent: `idp/${this.config.version}`,
      })
    }
    return this.connection
  }

  public override async finally(error: Error | undefined): Promise<void> {
    await this.jsonLines
    await this.connection?.client.close()
    await super.finally(error)
  }

  /**
   * Runs `work`; when the portal says the name the user typed does not exist (404), the error
   * also names the closest existing ones ("Did you mean …?").
   */
  protected async orSuggest<T>(work: () => Promise<T>, typed: string, names: () => Promise<string[]>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      if (!(error instanceof IdpError) || error.exitCode !== ExitCode.NOT_FOUND) throw error
      const hint = didYouMean(typed, await names().catch(() => []))
      if (!hint) throw error
      throw new IdpError(`${error.message.replace(/\.?$/, '.')}${hint}`, {
        code: error.code,
        exitCode: error.exitCode,
        ...(error.hint ? {hint: error.hint} : {}),
      })
    }
  }

  /** Print `result` as JSON with --json (through --jq when given), otherwise let `human` render it. */
  protected async emit<R>(result: R, human: (result: R) => void | Promise<void>): Promise<R> {
    if (this.jsonOutput) await this.printJson(result)
    else await human(result)
    return result
  }

  /** One JSON document on stdout: indented, or what --jq makes of it. */
  protected async printJson(value: unknown, {compact = false} = {}): Promise<void> {
    const expression = this.flags?.jq
    if (expression === undefined) return void this.io.out(JSON.stringify(value, null, compact ? undefined : 2))
    const {jqLines} = await import('./jq/filter.js')
    for (const line of await jqLines(expression, value, this.io.stdoutIsTTY)) this.io.out(line)
  }

  /**
   * One event a line (NDJSON) for commands that follow a run. Lines go out in order; with --jq a
   * line the expression fails on is reported on stderr and the command exits 2 at its end.
   */
  protected readonly printJsonLine = (value: unknown): void => {
    if (this.flags?.jq === undefined) return void this.io.out(JSON.stringify(value))
    this.jsonLines = this.jsonLines
      .then(() => this.printJson(value, {compact: true}))
      .catch((error: unknown) => {
        const failure = toIdpError(error as Error)
        this.io.err(`Error: ${failure.message}`)
        process.exitCode = failure.exitCode
      })
  }

  /** A duration flag's value (30s, 10m, 1h) in ms; a usage error naming the flag when it is not one. */
  protected duration(flag: string, value: string): number {
    const ms = parseDuration(value)
    if (ms === undefined) throw usageError(`--${flag} "${value}" is not a duration such as 30s, 10m or 1h.`)
    return ms
  }

  /** Progress and notes for people; silent with --json so stderr stays quiet for scripts. */
  protected note(text: string): void {
    if (!this.jsonOutput) this.io.err(text)
  }

  /** --json, or --jq (which filters the JSON); read from argv when parsing failed before flags. */
  protected get jsonOutput(): boolean {
    if (this.flags) return this.flags.json || this.flags.jq !== undefined
    const options = this.argv.includes('--') ? this.argv.slice(0, this.argv.indexOf('--')) : this.argv
    return options.some((arg) => arg === '--json' || arg === '--jq' || arg.startsWith('--jq=') || arg === '-q')
  }

  public override async catch(caught: Error & {oclif?: {exit?: number}}): Promise<never> {
    this.io ??= systemIO(this.injected.streams)
    const ctor = this.ctor as unknown as typeof BaseCommand | undefined
    const error = toIdpError(caught, Object.keys({...ctor?.baseFlags, ...ctor?.flags}))
    process.exitCode = error.exitCode
    if (this.jsonOutput) {
      this.io.out(JSON.stringify({error: error.toJSON()}))
    } else if (error.code === 'cancelled') {
      // Ctrl-C at a prompt: the prompt line is closed and nothing more is said.
      this.io.err('')
    } else {
      const {color} = this.io
      this.io.err(`${color.red('Error:')} ${error.message}`)
      if (error.hint) this.io.err(color.dim(error.hint))
      if (error.exitCode === ExitCode.INTERNAL && caught.stack && process.env.IDP_DEBUG) this.io.err(caught.stack)
    }
    throw error
  }
}

/** oclif's parser errors carry exit 2; anything we did not anticipate is an internal error (exit 1). */
export function toIdpError(error: Error & {oclif?: {exit?: number}}, flags: string[] = []): IdpError {
  if (error instanceof IdpError) return error
  if (error.oclif?.exit === ExitCode.USAGE) {
    return new IdpError(parserMessage(error.message.replace(/\n\s*See more help with --help\s*$/, ''), flags), {
      code: 'usage',
      exitCode: ExitCode.USAGE,
      hint: 'See --help for usage.',
    })
  }
  return new IdpError(error.message || String(error), {
    code: 'internal',
    exitCode: ExitCode.INTERNAL,
    hint: 'This is a bug in idp. Set IDP_DEBUG=1 for a stack trace.',
    cause: error,
  })
}

/** oclif's parser messages in idp's words, with the closest flag for a mistyped one. */
export function parserMessage(message: string, flags: string[]): string {
  const unknown = /^Nonexistent flags?: (.+)$/m.exec(message)
  if (unknown) {
    const names = unknown[1]!.split(',').map((name) => name.trim())
    const known = flags.map((flag) => `--${flag}`)
    return names.map((name) => `Unknown flag ${name}.${didYouMean(name.replace(/=.*$/, ''), known)}`).join('\n')
  }
  const parsing = /^Parsing (--\S+)\s*\n\s*(.+)$/m.exec(message)
  if (parsing) return `${parsing[1]}: ${parsing[2]!.charAt(0).toLowerCase()}${parsing[2]!.slice(1)}`
  const required = /Missing required flag:?\s*\n?\s*(?:-\w, )?(?:--)?([\w-]+)/.exec(message)
  if (required) return `Missing required flag --${required[1]}.`
  return message
}
