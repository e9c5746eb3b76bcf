import type {PortClient} from '../api/port-client.js'
import type {Action, EntitiesQuery, Entity} from '../model/port.js'
import {coerceInput} from '../domain/action-inputs.js'
import type {UserInput} from '../model/inputs.js'
import {usageError} from '../errors.js'
import {readDataFile} from '../shared/data-file.js'
import {textOf} from '../shared/json.js'
import {shellQuote} from '../shared/shell-quote.js'

/**
 * `--input key=value` flags and `--inputs-file` (JSON or YAML, `-` for stdin), typed by the
 * action's inputs; `typed` keeps each flag's text where the value differs (a duration's "5d").
 */
export async function givenInputs(
  action: Action,
  flags: {input?: string[] | undefined; inputsFile?: string | undefined; stdin?: () => string},
  now: Date,
  typed: Record<string, string> = {},
) {
  const inputs = action.trigger.userInputs?.properties ?? {}
  const given: Record<string, unknown> = {}
  // Text is typed by the input the same way whichever flag it came from: "2d" is a time in both.
  const typedText = (name: string, input: UserInput, text: string, source: string) => {
    let value: unknown
    try {
      value = coerceInput(input, text, now)
    } catch (error) {
      throw usageError(`${source}: ${(error as Error).message}.`)
    }
    if (input.format === 'date-time' && typeof value === 'string' && value !== text) typed[name] = text
    return value
  }
  if (flags.inputsFile) {
    let parsed: unknown
    try {
      parsed = await readDataFile(flags.inputsFile, flags.stdin)
    } catch (error) {
      throw usageError(`--inputs-file ${flags.inputsFile}: ${(error as Error).message}`)
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw usageError(`--inputs-file ${flags.inputsFile} must hold one JSON or YAML object of input values.`)
    }
    for (const [name, value] of Object.entries(parsed)) {
      const input = inputs[name]
      given[name] =
        input && typeof value === 'string'
          ? typedText(name, input, value, `--inputs-file ${flags.inputsFile}: ${name}`)
          : value
    }
  }
  for (const flag of flags.input ?? []) {
    const at = flag.indexOf('=')
    if (at <= 0)
      throw usageError(
        `--input "${flag}" is not key=value.`,
        `Example: --input ${Object.keys(inputs)[0] ?? 'name'}=value`,
      )
    const name = flag.slice(0, at)
    const input = inputs[name]
    if (!input) {
      throw usageError(
        `--input ${name}: "${action.identifier}" has no input "${name}".`,
        `Its inputs: ${Object.keys(inputs).join(', ') || 'none'}.`,
      )
    }
    const value = typedText(name, input, flag.slice(at + 1), `--input ${name}`)
    // Repeating --input for an array input adds items.
    given[name] =
      input.type === 'array' && Array.isArray(given[name]) && Array.isArray(value)
        ? [...(given[name] as unknown[]), ...value]
        : value
  }
  return given
}

/** An example value for an input, for usage errors and hints. */
export function exampleValue(name: string, input: UserInput): string {
  if (Array.isArray(input.enum)) return String(input.enum[0])
  if (input.format === 'date-time') return '5d'
  if (input.format === 'entity') return `<${input.blueprint ?? 'entity'} identifier>`
  switch (input.type) {
    case 'number':
    case 'integer':
      return String(input.minimum ?? 1)
    case 'boolean':
      return 'true'
    case 'array':
      return 'a,b'
    case 'object':
      return `'{"key":"value"}'`
    default:
      return input.encryption ? '…' : `<${name}>`
  }
}

/**
 * The command that runs the same thing without prompts; secret inputs are left out, and inputs
 * keep what the user typed where it differs from the value sent (`ttl=5 days`, not a timestamp).
 */
export function equivalentCommand(
  action: Action,
  entity: string | undefined,
  values: Record<string, unknown>,
  typed: Record<string, string> = {},
): {command: string; omitted: string[]} {
  const inputs = action.trigger.userInputs?.properties ?? {}
  const parts = ['idp', 'action', 'run', shellQuote(action.identifier)]
  if (entity) parts.push('--entity', shellQuote(entity))
  const omitted: string[] = []
  for (const [name, value] of Object.entries(values)) {
    if (inputs[name]?.encryption) {
      omitted.push(name)
      continue
    }
    const text = typed[name] ?? textOf(value)
    parts.push('--input', shellQuote(`${name}=${text}`))
  }
  return {command: parts.join(' '), omitted}
}

/** Pickers load at most this many entities and match what is typed themselves. */
const LOCAL_MATCH_LIMIT = 5000

/**
 * Entities of a blueprint matching an input's dataset and what was typed, 100 at most. What was
 * typed matches identifiers and titles case-insensitively ("cart" finds "Cart Service"): the
 * dataset's entities are loaded once and matched here, since servers' `contains` may be
 * case-sensitive. Past LOCAL_MATCH_LIMIT entities the server matches a few spellings of it.
 */
export function entitySearch(client: PortClient) {
  const loaded = new Map<string, Promise<Entity[] | undefined>>()
  const load = (blueprint: string, dataset: EntitiesQuery | undefined) => {
    const key = `${blueprint}\u0000${JSON.stringify(dataset ?? null)}`
    if (!loaded.has(key)) {
      loaded.set(
        key,
        (async () => {
          const all: Entity[] = []
          for await (const entity of client.entities.search(blueprint, dataset, LOCAL_MATCH_LIMIT + 1)) all.push(entity)
          return all.length > LOCAL_MATCH_LIMIT ? undefined : all
        })(),
      )
    }
    return loaded.get(key)!
  }
  return async (blueprint: string, dataset: EntitiesQuery | undefined, term: string | undefined): Promise<Entity[]> => {
    const all = await load(blueprint, dataset)
    if (all) return (term ? all.filter((entity) => matchesTerm(entity, term)) : all).slice(0, 100)
    return (await client.entities.searchPage(blueprint, pickerQuery(dataset, term), {limit: 100})).entities
  }
}

/**
 * The search a picker sends when the server matches: the input's dataset, and the typed term in
 * a few spellings (servers' `contains` may be case-sensitive) in a title or identifier.
 */
export function pickerQuery(dataset: EntitiesQuery | undefined, term: string | undefined): EntitiesQuery | undefined {
  const rules: EntitiesQuery['rules'] = dataset ? [dataset] : []
  if (term) {
    const spellings = [...new Set([term, term.toLowerCase(), term.toUpperCase(), capitalize(term)])]
    rules.push({
      combinator: 'or',
      rules: spellings.flatMap((value) => [
        {operator: 'contains', property: '$title', value},
        {operator: 'contains', property: '$identifier', value},
      ]),
    })
  }
  return rules.length > 0 ? {combinator: 'and', rules} : undefined
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1).toLowerCase()

/** Whether an entity's identifier or title contains `term`, ignoring case. */
export function matchesTerm(entity: Entity, term: string): boolean {
  const needle = term.toLowerCase()
  return entity.identifier.toLowerCase().includes(needle) || (entity.title ?? '').toLowerCase().includes(needle)
}
