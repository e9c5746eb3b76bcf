import type {Action, EntitiesQuery, Entity} from '../model/port.js'
import {evaluate, isVisible, requiredInputs, type FormContext} from '../domain/dynamic-inputs.js'
import {checkInputs, inputOrder, isJq, undeclaredInputs} from '../domain/action-inputs.js'
import type {UserInput, UserInputs} from '../model/inputs.js'
import {parseWhen, type Clock} from '../shared/when.js'
import {didYouMean} from '../shared/suggest.js'
import {jsonOrText, textOf} from '../shared/json.js'
import type {JqEngine} from '../jq/engine.js'
import type {Choice, Prompter} from '../prompts/prompter.js'

export interface FormOptions {
  action: Action
  /** The target entity of a DAY-2 or DELETE action. */
  entity?: Entity | undefined
  /** Values from --input and --inputs-file, already typed. */
  given: Record<string, unknown>
  /** Absent when prompting is not allowed. */
  prompter?: Prompter | undefined
  jq: JqEngine
  user: Record<string, unknown>
  /** Entities an entity input may choose from (blueprint, dataset rules, search text). */
  searchEntities: (blueprint: string, query: EntitiesQuery | undefined, term: string | undefined) => Promise<Entity[]>
  clock: Clock
  /** Colours enum choices by their enumColors. */
  paint?: (color: string, text: string) => string
  /** False only reports the form's state (hidden, required, defaults): no values are checked. */
  validate?: boolean
}

export interface FormResult {
  values: Record<string, unknown>
  /** Inputs answered at a prompt (for the equivalent command printed afterwards). */
  asked: string[]
  /** What the user typed where it differs from the value sent ("5 days" for a date-time). */
  typed: Record<string, string>
  /** Required inputs with no value (only when nothing could ask for them). */
  missing: {name: string; input: UserInput}[]
  issues: {input: string; message: string}[]
  /** Inputs whose `visible` is false: not asked and not sent. */
  hidden: string[]
  /** The inputs required once the form is filled (hidden ones never are). */
  required: string[]
  /** The default of each shown input that was not given, over the form before it. */
  defaults: Record<string, unknown>
}

/**
 * Fills an action's inputs: flags first, then a prompt for each remaining input (in `order`,
 * after the inputs it `dependsOn`), then defaults. `visible`, `disabled`, `default`, `enum` and
 * `required` may be jqQuery over the form so far, the entity and the user, as in Port.
 */
export async function fillForm(options: FormOptions): Promise<FormResult> {
  const userInputs: UserInputs = options.action.trigger.userInputs ?? {properties: {}}
  const inputs = userInputs.properties ?? {}
  const values: Record<string, unknown> = {}
  const asked: string[] = []
  const typed: Record<string, string> = {}
  const defaults: Record<string, unknown> = {}
  const hidden = new Set<string>()
  const context = (): FormContext => ({
    entity: (options.entity as Record<string, unknown> | undefined) ?? null,
    form: {...values},
    user: options.user,
  })
  const required = async () =>
    (await requiredInputs(userInputs, context(), options.jq)).filter((name) => !hidden.has(name))

  for (const name of Object.keys(options.given)) if (!(name in inputs)) values[name] = options.given[name]
  const ask = async (name: string) => {
    const input = inputs[name]!
    if (!(await isVisible(input, context(), options.jq))) {
      hidden.add(name)
      delete values[name]
      delete defaults[name]
      return
    }
    hidden.delete(name)
    if (name in options.given) {
      values[name] = options.given[name]
      return
    }
    const fallback = await evaluate(input.default, context(), options.jq)
    if (fallback === undefined) delete defaults[name]
    else defaults[name] = fallback
    const disabled = (await evaluate(input.disabled, context(), options.jq)) === true
    if (options.prompter && !disabled) {
      const isRequired = (await required()).includes(name)
      const choices = await evaluate(input.enum, context(), options.jq)
      const answer = await promptFor(name, input, {
        ...options,
        choices,
        fallback,
        prompter: options.prompter,
        required: isRequired,
        typed: (text) => (typed[name] = text),
      })
      asked.push(name)
      if (answer !== undefined) values[name] = answer
      else delete values[name]
    } else if (fallback !== undefined) {
      values[name] = fallback
    }
  }

  for (const name of inputOrder(userInputs)) await ask(name)
  // `required` may depend on answers given later; ask again for what it now needs.
  const needed = await required()
  for (const name of needed) if (values[name] === undefined && options.prompter && inputs[name]) await ask(name)

  const finalRequired = await required()
  const state = {defaults, hidden: [...hidden], required: finalRequired}
  const missing = finalRequired
    .filter((name) => isEmpty(values[name]))
    .map((name) => ({input: inputs[name] ?? {type: 'string' as const}, name}))
  if (options.validate === false) return {asked, issues: [], missing, typed, values, ...state}
  const issues = [
    ...undeclaredInputs(userInputs, values),
    ...checkInputs(userInputs, values, [], `cli:${options.action.identifier}:${options.action.updatedAt ?? ''}`),
  ]
  if (issues.length === 0) issues.push(...(await entityIssues(inputs, values, options)))
  return {asked, issues, missing, typed, values, ...state}
}

/**
 * Entity inputs name entities that exist in their blueprint: checked before anything is sent, so
 * a typo is a usage error with suggestions rather than a run that fails in its handler.
 */
async function entityIssues(
  inputs: Record<string, UserInput>,
  values: Record<string, unknown>,
  options: FormOptions,
): Promise<{input: string; message: string}[]> {
  const issues: {input: string; message: string}[] = []
  for (const [name, input] of Object.entries(inputs)) {
    const many = input.type === 'array' && input.items?.format === 'entity'
    const blueprint = many ? ((input.items?.blueprint as string | undefined) ?? input.blueprint) : input.blueprint
    if ((!many && input.format !== 'entity') || !blueprint || values[name] === undefined) continue
    const named = (Array.isArray(values[name]) ? values[name] : [values[name]]).filter(
      (id): id is string => typeof id === 'string',
    )
    const found = await options.searchEntities(blueprint, identifiersQuery(named), undefined)
    const exists = new Set(found.map((entity) => entity.identifier))
    for (const id of named.filter((id) => !exists.has(id))) {
      const near = [
        ...(await options.searchEntities(blueprint, undefined, undefined)),
        ...(await options.searchEntities(blueprint, undefined, id.slice(0, 3))),
      ].map((entity) => entity.identifier)
      issues.push({input: name, message: `"${id}" is not a ${blueprint} entity.${didYouMean(id, near)}`})
    }
  }
  return issues
}

const identifiersQuery = (ids: string[]): EntitiesQuery => ({
  combinator: 'and',
  rules: [{operator: 'in', property: '$identifier', value: ids}],
})

const isEmpty = (value: unknown) => value === undefined || value === null || value === ''

interface AskOptions extends FormOptions {
  prompter: Prompter
  choices: unknown[] | undefined
  fallback: unknown
  required: boolean
  /** Keeps what was typed when the value sent differs from it. */
  typed: (text: string) => void
}

/** One prompt, chosen by the input's type and format; every answer is checked before it is taken. */
async function promptFor(name: string, input: UserInput, options: AskOptions): Promise<unknown> {
  const {prompter, required} = options
  const message = `${input.title ?? name}${required ? '' : ' (optional)'}${input.description ? ` — ${input.description}` : ''}`
  const check = (value: unknown): true | string => {
    if (isEmpty(value)) return required ? 'Required' : true
    const issues = checkInputs(
      {properties: {[name]: {...input, ...(options.choices ? {enum: options.choices} : {})}}},
      {[name]: value},
      [],
      `prompt:${options.action.identifier}`,
    )
    return issues.length === 0 ? true : issues.map((issue) => issue.message).join('; ')
  }
  const text = (value: unknown) => (value === undefined || value === null ? undefined : textOf(value))

  if (input.encryption) {
    const secret = await prompter.password({
      message,
      validate: (value) => (isEmpty(value) && required ? 'Required' : true),
    })
    return secret === '' ? undefined : input.type === 'object' ? jsonOrText(secret) : secret
  }
  if (input.type === 'boolean') return prompter.confirm({default: options.fallback === true, message})
  if (input.format === 'entity' && input.blueprint) return pickEntities(name, input, message, options, false)
  if (input.type === 'array' && input.items?.format === 'entity' && (input.items.blueprint ?? input.blueprint)) {
    return pickEntities(name, input, message, options, true)
  }
  const choices =
    options.choices ?? (input.type === 'array' && Array.isArray(input.items?.enum) ? input.items.enum : undefined)
  if (choices) {
    const colored = (value: unknown) => {
      const color = (input.enumColors ?? (input.items?.enumColors as Record<string, string> | undefined))?.[
        String(value)
      ]
      const label = String(value)
      return color && options.paint ? options.paint(color, label) : label
    }
    if (input.type === 'array') {
      const defaults = Array.isArray(options.fallback) ? options.fallback : []
      const picked = await prompter.checkbox({
        choices: choices.map((value) => ({checked: defaults.includes(value), name: colored(value), value})),
        message,
        validate: (selected) => check(selected.map((choice) => choice.value)),
      })
      return picked.length === 0 && !required ? undefined : picked
    }
    const list: Choice<unknown>[] = choices.map((value) => ({name: colored(value), value}))
    if (!required) list.unshift({name: '(none)', value: undefined})
    return prompter.select({choices: list, default: options.fallback ?? list[0]?.value, message})
  }
  if (input.type === 'number' || input.type === 'integer') {
    const value = await prompter.number({
      ...(typeof options.fallback === 'number' ? {default: options.fallback} : {}),
      ...(input.maximum === undefined ? {} : {max: input.maximum}),
      message,
      ...(input.minimum === undefined ? {} : {min: input.minimum}),
      required,
      step: input.type === 'integer' ? 1 : 'any',
    })
    return value
  }
  if (input.type === 'object' || input.type === 'array') {
    const hint = input.type === 'array' ? 'comma-separated, or a JSON array' : 'JSON'
    const parse = (value: string): unknown => {
      if (value.trim() === '') return undefined
      if (input.type === 'array' && !value.trim().startsWith('[')) {
        const items = value
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean)
        return input.items?.type === 'number' ? items.map(Number) : items
      }
      return jsonOrText(value)
    }
    const answer = await prompter.input({
      ...(text(options.fallback) === undefined ? {} : {default: text(options.fallback)!}),
      message: `${message} (${hint})`,
      validate: (value) => {
        const parsed = parse(value)
        if (typeof parsed === 'string') return `Not valid ${hint}`
        return check(parsed)
      },
    })
    return parse(answer)
  }
  if (['multi-line', 'yaml', 'markdown', 'proto'].includes(input.format ?? '')) {
    const answer = await prompter.editor({
      ...(text(options.fallback) ? {default: text(options.fallback)!} : {}),
      message,
      validate: check,
    })
    return answer === '' ? undefined : answer
  }
  if (input.format === 'date-time') {
    const when = (value: string) => (value.trim() === '' ? undefined : parseWhen(value, options.clock()))
    const answer = await prompter.input({
      ...(text(options.fallback) ? {default: text(options.fallback)!} : {}),
      message: `${message} (e.g. 5d, "in 2 weeks", or an ISO time)`,
      transformer: (value) => {
        const parsed = when(value)
        return parsed && !/^\d{4}-/.test(value.trim()) ? `${value}  → ${parsed.toISOString()}` : value
      },
      validate: (value) => {
        if (value.trim() === '') return required ? 'Required' : true
        return when(value) ? true : 'Give an ISO date-time, or a duration such as 5d, "5 days" or "in 2 weeks"'
      },
    })
    // The rerun command repeats "5 days", not a time that would drift.
    if (answer.trim() !== '' && !/^\d{4}-/.test(answer.trim())) options.typed(answer.trim())
    return when(answer)?.toISOString()
  }
  const answer = await prompter.input({
    ...(text(options.fallback) ? {default: text(options.fallback)!} : {}),
    message,
    validate: check,
  })
  return answer === '' ? undefined : answer
}

async function pickEntities(
  name: string,
  input: UserInput,
  message: string,
  options: AskOptions,
  many: boolean,
): Promise<unknown> {
  const blueprint = (many ? ((input.items?.blueprint as string | undefined) ?? input.blueprint) : input.blueprint)!
  const entity = (options.entity as Record<string, unknown> | undefined) ?? null
  const dataset = await resolveDataset(input.dataset, {entity, form: {}, user: options.user}, options.jq)
  const label = (entity: Entity) =>
    entity.title && entity.title !== entity.identifier ? `${entity.title} (${entity.identifier})` : entity.identifier
  if (many) {
    const entities = await options.searchEntities(blueprint, dataset, undefined)
    const defaults = Array.isArray(options.fallback) ? options.fallback : []
    const picked = await options.prompter.checkbox({
      choices: entities.map((entity) => ({
        checked: defaults.includes(entity.identifier),
        name: label(entity),
        value: entity.identifier,
      })),
      message,
      validate: (selected) => (options.required && selected.length === 0 ? 'Pick at least one' : true),
    })
    return picked.length === 0 && !options.required ? undefined : picked
  }
  const none: Choice<string | undefined>[] = options.required ? [] : [{name: '(none)', value: undefined}]
  return options.prompter.search<string | undefined>({
    message: `${message} (type to search ${blueprint})`,
    source: async (term) => {
      const found = (await options.searchEntities(blueprint, dataset, term)).map((entity) => ({
        name: label(entity),
        value: entity.identifier,
      }))
      // Once something is typed, Enter takes the first match; "(none)" stays last to choose.
      return term ? [...found, ...none] : [...none, ...found]
    },
  })
}

/** A dataset's rule values may be jqQuery over the form, entity and user. */
export async function resolveDataset(
  dataset: UserInput['dataset'],
  context: FormContext,
  jq: JqEngine,
): Promise<EntitiesQuery | undefined> {
  if (!dataset) return undefined
  const resolve = async (node: unknown): Promise<unknown> => {
    if (Array.isArray(node)) return Promise.all(node.map(resolve))
    if (isJq(node)) return jq.first(node.jqQuery, context)
    if (node && typeof node === 'object') {
      return Object.fromEntries(
        await Promise.all(Object.entries(node).map(async ([key, value]) => [key, await resolve(value)])),
      )
    }
    return node
  }
  return (await resolve(dataset)) as EntitiesQuery
}
