import type {Jq} from 'jq-wasm'

export type JqErrorKind = 'compile' | 'runtime' | 'timeout' | 'resource'

export class JqEvalError extends Error {
  constructor(
    readonly kind: JqErrorKind,
    message: string,
    readonly expression: string,
  ) {
    super(message)
  }
}

/** What idp needs from jq: the first output of an expression (Port's semantics), or null. */
export interface JqEngine {
  first(expression: string, input: unknown): Promise<unknown>
  close(): Promise<void>
}

/**
 * Port evaluates jq without the environment: `env` and `$ENV` are empty. The prelude sits on its
 * own line so error positions can be shifted back to the user's expression.
 */
const PRELUDE = 'def env: {}; {} as $ENV |\n'
const MAX_INPUT = 16 * 1024 * 1024

/** Strips jq's boilerplate and the prelude's line from an error message. */
function describe(stderr: string): string {
  return stderr
    .replace(/^jq: error( \(at [^)]*\))?: /m, '')
    .replace(/\njq: \d+ compile errors?$/, '')
    .replace(/line (\d+)/g, (_match, line: string) => `line ${Number(line) - 1}`)
    .trim()
}

/**
 * jq-wasm (real jq 1.8) in this thread. Calls are synchronous once loaded; an instance that hit an
 * abort (stack or memory exhausted) leaks its heap, so it is replaced.
 */
export class InlineJq implements JqEngine {
  private jq: Promise<Jq> | undefined

  async first(expression: string, input: unknown): Promise<unknown> {
    const text = JSON.stringify(input ?? null)
    if (text.length > MAX_INPUT)
      throw new JqEvalError('resource', 'input too large for jq (16 MiB at most)', expression)
    const jq = await this.load()
    try {
      return jq.first(text, PRELUDE + expression) ?? null
    } catch (error) {
      const {exitCode, stderr} = error as {exitCode?: number; stderr?: string}
      if (typeof exitCode === 'number') {
        throw new JqEvalError(exitCode === 3 ? 'compile' : 'runtime', describe(stderr ?? ''), expression)
      }
      this.jq = undefined // RuntimeError: Aborted() — start over with a fresh instance
      throw new JqEvalError('resource', `jq ran out of memory or stack: ${(error as Error).message}`, expression)
    }
  }

  async close(): Promise<void> {
    this.jq = undefined
  }

  private load(): Promise<Jq> {
    this.jq ??= import('jq-wasm').then(({loadJq}) => loadJq())
    return this.jq
  }
}
