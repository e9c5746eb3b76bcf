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

/** Field names that jq's `.name` syntax may read as keywords; such paths go to jq itself. */
const KEYWORDS = new Set(
  'and as catch def elif else end foreach if import include label or reduce then try __loc__'.split(' '),
)
const PATH = /^\.[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$/

/**
 * `.a.b.c` read without jq. The commonest template, `{{ .event.context.entityIdentifier }}`, would
 * otherwise cost a round trip to jq's worker with a copy of the whole context. Undefined when the
 * expression is anything else, or when jq would fail on this input (a field of a string or an
 * array): jq itself answers then, with its own error.
 */
export function plainPath(expression: string, input: unknown): {value: unknown} | undefined {
  const path = expression.trim()
  if (!PATH.test(path)) return undefined
  let value: unknown = input ?? null
  for (const key of path.slice(1).split('.')) {
    if (KEYWORDS.has(key)) return undefined
    if (value === null) continue
    if (typeof value !== 'object' || Array.isArray(value)) return undefined
    value = Object.hasOwn(value, key) ? ((value as Record<string, unknown>)[key] ?? null) : null
  }
  return {value}
}

/**
 * jq-wasm (real jq 1.8) in this thread. Calls are synchronous once loaded; an instance that hit an
 * abort (stack or memory exhausted) leaks its heap, so it is replaced.
 */
export class InlineJq implements JqEngine {
  private jq: Promise<Jq> | undefined

  async first(expression: string, input: unknown): Promise<unknown> {
    const path = plainPath(expression, input)
    if (path) return path.value
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
