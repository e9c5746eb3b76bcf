import {schemas} from '../schemas/registry.js'
import type {JqQuery, UserInput, UserInputs} from '../model/inputs.js'
import {parseWhen} from '../shared/when.js'

export interface InputIssue {
  input: string
  message: string
}

export const isJq = (value: unknown): value is JqQuery =>
  typeof value === 'object' && value !== null && typeof (value as JqQuery).jqQuery === 'string'

/**
 * The order inputs are asked in: `order`, or the steps' orders, then any others in definition
 * order; an input always comes after the inputs it `dependsOn`.
 */
export function inputOrder(userInputs: UserInputs): string[] {
  const names = Object.keys(userInputs.properties ?? {})
  const declared = userInputs.order ?? userInputs.steps?.flatMap((step) => step.order ?? []) ?? []
  const listed = [...new Set([...declared.filter((name) => names.includes(name)), ...names])]
  const placed: string[] = []
  const visiting = new Set<string>()
  const place = (name: string) => {
    if (placed.includes(name) || visiting.has(name)) return
    visiting.add(name)
    for (const dependency of userInputs.properties[name]?.dependsOn ?? [])
      if (names.includes(dependency)) place(dependency)
    placed.push(name)
  }
  for (const name of listed) place(name)
  return placed
}

const FORMATS: Record<string, string> = {
  'date-time': 'date-time',
  email: 'email',
  ipv4: 'ipv4',
  ipv6: 'ipv6',
  url: 'uri',
}

/** The JSON Schema one input's value must satisfy; keywords given as jqQuery are resolved first by the caller. */
export function inputSchema(input: Partial<UserInput>): Record<string, unknown> {
  const schema: Record<string, unknown> = {}
  if (input.type) schema.type = input.type
  // A secret's constraints hold for its plain text, checked before it is encrypted.
  if (input.encryption && input.type === 'object') return {type: ['object', 'string']}
  if (input.type === 'string' && input.format && FORMATS[input.format]) schema.format = FORMATS[input.format]
  for (const keyword of ['minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems', 'pattern'] as const) {
    const value = input[keyword]
    if (value !== undefined && !isJq(value)) schema[keyword] = value
  }
  if (Array.isArray(input.enum)) schema.enum = input.enum
  if (input.type === 'array' && input.items) schema.items = inputSchema(input.items)
  if (input.type === 'object') {
    for (const keyword of ['properties', 'required', 'additionalProperties', 'patternProperties'] as const) {
      if (input[keyword] !== undefined) schema[keyword] = input[keyword]
    }
  }
  return schema
}

/**
 * Values that name no input of the action. Port accepts and keeps them (so does the embedded
 * portal); idp's CLI refuses them before sending, since there they are almost always a typo.
 */
export function undeclaredInputs(userInputs: UserInputs, values: Record<string, unknown>): InputIssue[] {
  const inputs = userInputs.properties ?? {}
  return Object.keys(values)
    .filter((name) => !Object.hasOwn(inputs, name))
    .map((name) => ({
      input: name,
      message: `is not an input of this action (inputs: ${Object.keys(inputs).join(', ') || 'none'})`,
    }))
}

/**
 * Checks values against the inputs: unknown inputs, each value's schema, and the required ones.
 * Every problem names its input.
 */
export function checkInputs(
  userInputs: UserInputs,
  values: Record<string, unknown>,
  required: string[],
  cacheKey: string,
): InputIssue[] {
  const issues: InputIssue[] = []
  const inputs = userInputs.properties ?? {}
  for (const name of required) {
    const value = values[name]
    if (value === undefined || value === null || value === '') issues.push({input: name, message: 'is required'})
  }
  for (const [name, value] of Object.entries(values)) {
    const input = inputs[name]
    if (!input || value === undefined || value === null) continue
    const result = schemas().validateWith(
      `${cacheKey}:${name}:${JSON.stringify(input)}`,
      () => inputSchema(input),
      value,
    )
    if (!result.ok) {
      for (const issue of result.issues) issues.push({input: name + issue.pointer, message: issue.message})
    }
  }
  return issues
}

/**
 * A flag's text as the input's type: numbers, booleans, JSON objects and arrays (or comma lists),
 * and date-times from `5d`, `in 2 weeks` or an ISO time. Throws a message naming what was expected.
 */
export function coerceInput(input: UserInput, given: string, now: Date): unknown {
  const text = given.trim()
  // Messages quote what was given, except a secret's.
  const raw = input.encryption ? '(hidden)' : given
  switch (input.type) {
    case 'number':
    case 'integer': {
      const value = Number(text)
      if (text === '' || Number.isNaN(value)) throw new Error(`expects a number, got "${raw}"`)
      if (input.type === 'integer' && !Number.isInteger(value)) throw new Error(`expects a whole number, got "${raw}"`)
      return value
    }
    case 'boolean': {
      const value = {'1': true, '0': false, false: false, no: false, true: true, yes: true}[text.toLowerCase()]
      if (value === undefined) throw new Error(`expects true or false, got "${raw}"`)
      return value
    }
    case 'object':
      try {
        const value = JSON.parse(text) as unknown
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object')
        return value
      } catch {
        throw new Error(`expects a JSON object, e.g. '{"key": "value"}', got "${raw}"`)
      }
    case 'array': {
      if (text.startsWith('[')) {
        try {
          return JSON.parse(text) as unknown
        } catch {
          throw new Error(`expects a JSON array or a comma-separated list, got "${raw}"`)
        }
      }
      const items = text === '' ? [] : text.split(',').map((item) => item.trim())
      return input.items?.type === 'number' || input.items?.type === 'integer' ? items.map(Number) : items
    }
    default:
      if (input.format === 'date-time' && !input.encryption) {
        const when = parseWhen(text, now)
        if (!when)
          throw new Error(
            `expects a time: an ISO date-time, or a duration from now such as 5d, "5 days" or "in 2 weeks"; got "${raw}"`,
          )
        return when.toISOString()
      }
      return given
  }
}
