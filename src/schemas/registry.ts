import {readdirSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {createRequire} from 'node:module'

import type {Ajv, ErrorObject, ValidateFunction} from 'ajv'
import type addFormatsModule from 'ajv-formats'
import type {RE2JS} from 're2js'

/** `schemas/` at the package root, from `src/schemas` under tsx and from `dist/schemas` when built. */
export const SCHEMAS_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url))

export interface SchemaIssue {
  /** JSON pointer into the validated value, `""` for the root. */
  pointer: string
  message: string
}

export type Validation = {ok: true} | {ok: false; issues: SchemaIssue[]}

// ajv (~25 ms to import, more to compile) loads on the first validation, not with this module:
// commands that end up validating nothing (an unchanged catalog sync) never pay for it.
const require = createRequire(import.meta.url)

/**
 * The one Ajv in idp. It holds every schema in `schemas/` (by `$id`, e.g. `idp:blueprint`) and
 * compiles run-time schemas (entity properties from a blueprint, action inputs) with the same
 * formats, so the CLI, `catalog validate` and the portal agree on what is valid.
 */
class SchemaRegistry {
  readonly ajv: Ajv
  private readonly dynamic = new Map<string, ValidateFunction>()

  constructor() {
    // Our schemas are checked against the meta-schema by the test suite, not on every start (~25 ms).
    const {Ajv: AjvClass} = require('ajv') as {Ajv: typeof Ajv}
    const addFormats = require('ajv-formats') as typeof addFormatsModule.default
    const files = readdirSync(SCHEMAS_DIR).filter((name) => name.endsWith('.json'))
    const texts = files.map((file) => readFileSync(SCHEMAS_DIR + file, 'utf8'))
    const trusted = new Set(texts.flatMap((text) => collectPatterns(JSON.parse(text))))
    this.ajv = new AjvClass({
      allErrors: true,
      allowUnionTypes: true,
      code: {regExp: linearRegExp(trusted)},
      strict: false,
      validateSchema: false,
    })
    addFormats(this.ajv, ['date-time', 'date', 'time', 'uri', 'email', 'ipv4', 'ipv6'])
    // A pattern in a blueprint or an input must run in linear time (see linearRegExp).
    this.ajv.addFormat('regex', (pattern: string) => linearCompileError(pattern) === undefined)
    // Port's own formats: free text in Port, so any string is accepted.
    for (const format of ['url', 'idn-email', 'user', 'team', 'entity', 'markdown', 'yaml', 'proto', 'multi-line']) {
      this.ajv.addFormat(format, true)
    }
    this.ajv.addFormat('timer', this.ajv.formats['date-time']!)
    for (const text of texts) this.ajv.addSchema(JSON.parse(text) as object)
  }

  validate(ref: string, value: unknown): Validation {
    const validator = this.ajv.getSchema(ref)
    if (!validator) throw new Error(`No schema ${ref} in ${SCHEMAS_DIR}`)
    return result(validator, value)
  }

  /** Compile a run-time schema once per cache key (e.g. blueprint identifier + updatedAt). */
  validateWith(key: string, build: () => object, value: unknown): Validation {
    let validator = this.dynamic.get(key)
    if (!validator) {
      try {
        validator = this.ajv.compile(build())
      } catch (error) {
        // A pattern stored before patterns were checked (or from Port) that cannot run in linear time.
        return {issues: [{message: (error as Error).message, pointer: ''}], ok: false}
      }
      this.dynamic.set(key, validator)
    }
    return result(validator, value)
  }

  forget(prefix: string): void {
    for (const key of this.dynamic.keys()) if (key.startsWith(prefix)) this.dynamic.delete(key)
  }
}

/**
 * Patterns in blueprints and action inputs come from users, and a backtracking engine can take
 * exponential time on them (`^(a+)+$`), stalling the portal. They run on RE2JS, whose matching is
 * linear in the input; RE2 has no lookaround or back-references, so such patterns are refused.
 * The patterns of idp's own schemas (some use lookahead) keep the native engine.
 */
function linearRegExp(trusted: Set<string>) {
  const engine = (pattern: string, flags: string) => {
    if (trusted.has(pattern)) return new RegExp(pattern, flags)
    try {
      return re2().compile(pattern)
    } catch (error) {
      throw new Error(`the pattern ${pattern} cannot be run in linear time: ${(error as Error).message}`)
    }
  }
  // ajv generates code only for standalone validators, which idp does not build.
  return Object.assign(engine, {code: 're2js'})
}

const re2 = () => (require('re2js') as {RE2JS: typeof RE2JS}).RE2JS

/** Why RE2JS cannot compile this pattern, or undefined when it can. */
export function linearCompileError(pattern: string): string | undefined {
  try {
    re2().compile(pattern)
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

function collectPatterns(schema: unknown): string[] {
  if (Array.isArray(schema)) return schema.flatMap(collectPatterns)
  if (schema === null || typeof schema !== 'object') return []
  return Object.entries(schema).flatMap(([key, value]) =>
    key === 'pattern' && typeof value === 'string' ? [value] : collectPatterns(value),
  )
}

function result(validator: ValidateFunction, value: unknown): Validation {
  if (validator(value)) return {ok: true}
  return {issues: describe(validator.errors ?? []), ok: false}
}

/** ajv's errors as one readable line each, deduplicated, pointing at the offending field. */
export function describe(errors: ErrorObject[]): SchemaIssue[] {
  const seen = new Set<string>()
  const issues: SchemaIssue[] = []
  // Errors inside propertyNames repeat what the propertyNames error itself says; oneOf, anyOf and
  // if only summarise the errors of their branches, which say more.
  const relevant = errors.filter((error) => error.propertyName === undefined)
  const summary = new Set(['oneOf', 'anyOf', 'if'])
  const meaningful = relevant.some((error) => !summary.has(error.keyword))
    ? relevant.filter((error) => !summary.has(error.keyword))
    : relevant
  for (const error of meaningful) {
    const issue = toIssue(error)
    const key = issue.pointer + '\n' + issue.message
    if (!seen.has(key)) {
      seen.add(key)
      issues.push(issue)
    }
  }
  return issues
}

function toIssue(error: ErrorObject): SchemaIssue {
  const {instancePath, params} = error
  switch (error.keyword) {
    case 'required':
      return {message: 'is required', pointer: `${instancePath}/${escape(String(params.missingProperty))}`}
    case 'additionalProperties':
      return {message: 'is not allowed here', pointer: `${instancePath}/${escape(String(params.additionalProperty))}`}
    case 'enum':
      return {
        message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
        pointer: instancePath,
      }
    case 'const':
      return {message: `must be ${JSON.stringify(params.allowedValue)}`, pointer: instancePath}
    case 'type':
      return {message: `must be ${String(params.type).replaceAll(',', ' or ')}`, pointer: instancePath}
    case 'format':
      if (params.format === 'regex')
        return {
          message:
            'must be a regular expression that runs in linear time (no lookahead, lookbehind or back-references)',
          pointer: instancePath,
        }
      return {message: `must be a valid ${String(params.format)}`, pointer: instancePath}
    case 'pattern':
      return {message: `does not match ${String(params.pattern)}`, pointer: instancePath}
    case 'propertyNames':
      return {message: `has an invalid key "${String(params.propertyName)}"`, pointer: instancePath}
    default:
      return {message: error.message ?? error.keyword, pointer: instancePath}
  }
}

const escape = (segment: string): string => segment.replaceAll('~', '~0').replaceAll('/', '~1')

export const pointer = (...segments: (string | number)[]): string =>
  segments.map((segment) => '/' + escape(String(segment))).join('')

let registry: SchemaRegistry | undefined

export function schemas(): SchemaRegistry {
  registry ??= new SchemaRegistry()
  return registry
}
