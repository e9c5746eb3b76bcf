import {evaluate, type FormContext} from '../../../domain/dynamic-inputs.js'
import {coerceInput, inputOrder} from '../../../domain/action-inputs.js'
import {encryptInput} from '../../../domain/secret-inputs.js'
import type {UserInput, UserInputs} from '../../../model/inputs.js'
import type {Action, EntitiesQuery, Entity, Run} from '../../../model/port.js'
import {fillForm, resolveDataset, type FormResult} from '../../../services/action-form.js'
import {pickerQuery} from '../../../services/action-run.js'
import {PortalError} from '../../http/errors.js'
import type {WebContext, WebRoute} from '../context.js'
import {html, path, type Html} from '../html.js'
import {csrfField, page} from '../layout.js'
import {markdown} from '../markdown.js'

const OPERATION_LABEL = {CREATE: 'Create', 'DAY-2': 'Day-2', DELETE: 'Delete'} as const

async function hub(context: WebContext) {
  const {actions} = await context.api<{actions: Action[]}>('GET', '/v1/actions')
  const groups = new Map<string, Action[]>()
  for (const action of actions.filter((candidate) => candidate.trigger.type === 'self-service')) {
    const key = action.trigger.blueprintIdentifier ?? '(no blueprint)'
    groups.set(key, [...(groups.get(key) ?? []), action])
  }
  const sections = [...groups]
    .toSorted(([a], [b]) => a.localeCompare(b))
    .map(
      ([blueprint, list]) =>
        html`<section aria-labelledby="${`bp-${blueprint}`}">
          <h2 id="${`bp-${blueprint}`}">${blueprint}</h2>
          <ul class="cards">
            ${list.map(
              (action) =>
                html`<li class="card">
                  <h3>
                    <a href="${path('actions', action.identifier, 'run')}">${action.title ?? action.identifier}</a>
                  </h3>
                  <p class="muted small">
                    ${OPERATION_LABEL[action.trigger.operation ?? 'CREATE']} ·
                    <code>${action.identifier}</code>${action.requiredApproval ? ' · needs approval' : ''}
                  </p>
                  ${action.description ? html`<p>${action.description}</p>` : ''}
                </li>`,
            )}
          </ul>
        </section>`,
    )
  return page(
    context,
    'Self-service',
    html`<p>Actions you can run, by the blueprint they act on. The same forms as <code>idp action run</code> asks.</p>
      ${sections.length ? sections : html`<p>No self-service actions yet.</p>`}`,
    '/self-service',
  )
}

/** Without a script, a picker suggests this many entities; a typed identifier is checked on submit. */
const SUGGESTED = 200
/** A picker's type-ahead shows this many matches. */
const MATCHES = 50
/** A form's state and choices are asked with the form's fields only: far below the API's body limit. */
const SCRIPT_FORM_BYTES = 64 * 1024

/** The entities a picker offers: its blueprint and dataset, matched by what was typed as the CLI's picker asks the server. */
function entitySearch(context: WebContext, limit: number) {
  return async (blueprint: string, dataset: EntitiesQuery | undefined, term: string | undefined): Promise<Entity[]> => {
    const query = pickerQuery(dataset, term) ?? {combinator: 'and', rules: []}
    const {entities} = await context.api<{entities: Entity[]}>(
      'POST',
      path('v1', 'blueprints', blueprint, 'entities', 'search'),
      {body: {limit, query}},
    )
    return entities
  }
}

interface FormState {
  /** What was typed, by input (never a secret's). */
  typed: Record<string, string>
  issues: Map<string, string[]>
  /** A problem that is no one field's. */
  problem?: string | undefined
}

const isEntityInput = (input: UserInput) =>
  input.format === 'entity' || (input.type === 'array' && input.items?.format === 'entity')
const entityBlueprint = (input: UserInput) =>
  input.format === 'entity' ? input.blueprint : ((input.items?.blueprint as string | undefined) ?? input.blueprint)

/** A self-service action, read through the API as the signed-in credential. */
async function selfServiceAction(context: WebContext): Promise<Action> {
  const {action} = await context.api<{action: Action}>('GET', path('v1', 'actions', context.params.id!))
  if (action.trigger.type !== 'self-service') {
    throw new PortalError(404, 'not_found', `"${action.identifier}" is an automation; it runs on events, not by hand`)
  }
  return action
}

/** The action's target entity (DAY-2 and DELETE), read through the API; `problem` when there is none by that name. */
async function target(
  context: WebContext,
  action: Action,
  id: string | null | undefined,
): Promise<{entity?: Entity; problem?: string}> {
  const blueprint = action.trigger.blueprintIdentifier
  if (!id || action.trigger.operation === 'CREATE' || !blueprint) return {}
  try {
    const {entity} = await context.api<{entity: Entity}>('GET', path('v1', 'blueprints', blueprint, 'entities', id))
    return {entity}
  } catch (error) {
    if (!(error instanceof PortalError) || error.status !== 404) throw error
    return {problem: `"${id}" is not a ${blueprint} entity`}
  }
}

/** Form fields (`in.<name>`) typed as the CLI types `--input` values; a failure is that field's issue. */
function readFields(action: Action, form: URLSearchParams, now: Date, state: FormState) {
  const inputs = action.trigger.userInputs?.properties ?? {}
  const given: Record<string, unknown> = {}
  for (const [name, input] of Object.entries(inputs)) {
    const all = form.getAll(`in.${name}`)
    if (all.length === 0) continue
    if (input.type === 'boolean') {
      given[name] = all.at(-1) === 'true'
      continue
    }
    if (input.type === 'array' && (isEntityInput(input) || Array.isArray(input.items?.enum))) {
      given[name] = all.filter(Boolean)
      if (all.filter(Boolean).length === 0) given[name] = undefined
      continue
    }
    const text = all.at(-1)!
    if (!input.encryption) state.typed[name] = text
    if (text.trim() === '') {
      given[name] = undefined
      continue
    }
    try {
      given[name] = coerceInput(input, text, now)
    } catch (error) {
      state.issues.set(name, [...(state.issues.get(name) ?? []), (error as Error).message])
    }
  }
  return given
}

/** The form as fillForm fills it for `idp action run`: the given fields, then each shown input's default. */
async function fill(
  context: WebContext,
  action: Action,
  entity: Entity | undefined,
  given: Record<string, unknown>,
  validate: boolean,
) {
  return fillForm({
    action,
    clock: () => context.now,
    entity,
    given,
    jq: context.core.options.jq,
    searchEntities: entitySearch(context, SUGGESTED),
    user: userOf(context),
    validate,
  })
}

const userOf = (context: WebContext) => ({email: `${context.session!.clientId}@clients`})

async function actionForm(context: WebContext, submitted: boolean) {
  const action = await selfServiceAction(context)
  const source = submitted ? context.form : context.url.searchParams
  const {entity, problem} = await target(context, action, source.get('entity'))
  const state: FormState = {issues: new Map(), problem, typed: {}}
  const given = submitted ? readFields(action, context.form, context.now, state) : {}
  const filled = await fill(context, action, entity, given, submitted)
  if (submitted) {
    for (const issue of filled.issues) {
      const name = issue.input.split('/')[0]!
      const shown = issue.input.includes('/') ? `${issue.input.slice(name.length)} ${issue.message}` : issue.message
      state.issues.set(name, [...(state.issues.get(name) ?? []), shown])
    }
    for (const {name} of filled.missing) if (!state.issues.has(name)) state.issues.set(name, ['is required'])
    if (action.trigger.operation !== 'CREATE' && !entity)
      state.problem ??= `Choose the ${action.trigger.blueprintIdentifier} entity to run it on`
    if (state.issues.size === 0 && !state.problem) {
      const inputs = action.trigger.userInputs?.properties ?? {}
      const properties = {...filled.values}
      const credential = await context.core.store.getCredential(context.session!.clientId)
      for (const [name, input] of Object.entries(inputs)) {
        if (input.encryption && properties[name] !== undefined)
          properties[name] = encryptInput(properties[name], input.encryption, credential?.clientSecret)
      }
      try {
        const {run} = await context.api<{run: Run}>('POST', path('v1', 'actions', action.identifier, 'runs'), {
          body: {properties, ...(entity ? {entity: entity.identifier} : {})},
        })
        return {redirect: path('runs', run.id)}
      } catch (error) {
        if (!(error instanceof PortalError) || error.status >= 500) throw error
        state.problem = error.message
      }
    }
  }
  const shownEntity = entity?.identifier ?? source.get('entity') ?? undefined
  const content = await renderForm(context, action, {entity, filled, given, shownEntity, state})
  return {
    html: page(context, action.title ?? action.identifier, content, '/self-service'),
    status: submitted ? 422 : 200,
  }
}

/**
 * What the form's script asks as the user types: which inputs are shown and required and the
 * defaults of the inputs not typed in, by the same fillForm as `idp action run` (nothing is checked
 * or sent). The fields sent are the ones the user edited; the others take their defaults.
 */
async function formState(context: WebContext) {
  const action = await selfServiceAction(context)
  const {entity} = await target(context, action, context.form.get('entity'))
  const given = readFields(action, context.form, context.now, {issues: new Map(), typed: {}})
  const filled = await fill(context, action, entity, given, false)
  const inputs = action.trigger.userInputs?.properties ?? {}
  return {
    json: {
      // A secret's field is never filled in by the page.
      defaults: Object.fromEntries(Object.entries(filled.defaults).filter(([name]) => !inputs[name]?.encryption)),
      required: filled.required,
      visible: Object.keys(inputs).filter((name) => !filled.hidden.includes(name)),
    },
  }
}

/**
 * A picker's matches for what was typed (`q`): an entity input's (`input`, over its dataset and
 * the form so far) or the action's target entity's (no `input`), at most MATCHES.
 */
async function choices(context: WebContext) {
  const action = await selfServiceAction(context)
  const name = context.form.get('input') ?? ''
  const term = (context.form.get('q') ?? '').trim().slice(0, 200) || undefined
  const search = entitySearch(context, MATCHES)
  let found: Entity[]
  if (name === '') {
    const blueprint = action.trigger.blueprintIdentifier
    if (action.trigger.operation === 'CREATE' || !blueprint)
      throw new PortalError(404, 'not_found', `"${action.identifier}" runs on no entity`)
    found = await search(blueprint, undefined, term)
  } else {
    const input = action.trigger.userInputs?.properties?.[name]
    const blueprint = input && isEntityInput(input) ? entityBlueprint(input) : undefined
    if (!input || !blueprint) throw new PortalError(404, 'not_found', `"${name}" is not an entity input of this action`)
    let dataset: EntitiesQuery | undefined
    if (input.dataset) {
      const {entity} = await target(context, action, context.form.get('entity'))
      const given = readFields(action, context.form, context.now, {issues: new Map(), typed: {}})
      const filled = await fill(context, action, entity, given, false)
      const over: FormContext = {entity: asRecord(entity), form: filled.values, user: userOf(context)}
      dataset = await resolveDataset(input.dataset, over, context.core.options.jq)
    }
    found = await search(blueprint, dataset, term)
  }
  return {json: {entities: found.map((entity) => ({identifier: entity.identifier, title: entity.title ?? ''}))}}
}

const asRecord = (entity: Entity | undefined) => (entity as Record<string, unknown> | undefined) ?? null

const entityLabel = (entity: Entity) =>
  entity.title && entity.title !== entity.identifier ? `${entity.title} (${entity.identifier})` : entity.identifier

interface Rendered {
  entity: Entity | undefined
  /** The target entity's field as given (it may name no entity). */
  shownEntity: string | undefined
  filled: FormResult
  /** The inputs the user sent: their fields keep what was typed as the page's script updates the rest. */
  given: Record<string, unknown>
  state: FormState
}

async function renderForm(context: WebContext, action: Action, rendered: Rendered): Promise<Html> {
  const {entity, filled, state} = rendered
  const jq = context.core.options.jq
  const suggest = entitySearch(context, SUGGESTED)
  const userInputs: UserInputs = action.trigger.userInputs ?? {properties: {}}
  const formContext: FormContext = {entity: asRecord(entity), form: filled.values, user: userOf(context)}
  // Every input has a field, the hidden ones hidden (and not sent): the script shows them as the
  // form changes, and without a script the server shows them on submit.
  const fields: Html[] = []
  for (const name of inputOrder(userInputs)) {
    const input = userInputs.properties[name]!
    const dataset = isEntityInput(input) ? await resolveDataset(input.dataset, formContext, jq) : undefined
    fields.push(
      await field(name, input, {
        choices: await evaluate(input.enum, formContext, jq),
        edited: name in rendered.given,
        hidden: filled.hidden.includes(name),
        issues: state.issues.get(name) ?? [],
        locked: (await evaluate(input.disabled, formContext, jq)) === true,
        required: filled.required.includes(name),
        suggestions: async () => suggest(entityBlueprint(input)!, dataset, undefined),
        typed: state.typed[name],
        value: filled.values[name],
      }),
    )
  }
  const operation = action.trigger.operation ?? 'CREATE'
  let entityField: Html = html``
  if (operation !== 'CREATE' && action.trigger.blueprintIdentifier) {
    const blueprint = action.trigger.blueprintIdentifier
    entityField = html`<div class="field">
      <label for="entity">${blueprint} entity <span class="req">(required)</span></label>
      <input
        type="text"
        id="entity"
        name="entity"
        value="${rendered.shownEntity ?? ''}"
        aria-required="true"
        aria-describedby="entity-hint"
        autocomplete="off"
        list="entity-list"
        data-picker=""
      />
      ${datalist('entity-list', await suggest(blueprint, undefined, undefined))}
      <p class="hint" id="entity-hint">The identifier of a ${blueprint} entity; type to search.</p>
    </div>`
  }
  const errorCount = state.issues.size
  return html`${action.description ? html`<div class="markdown">${markdown(action.description)}</div>` : ''}
    ${
      errorCount || state.problem
        ? html`<div class="error" role="alert" id="form-errors">
            <p>${state.problem ?? `${errorCount} input${errorCount === 1 ? ' needs' : 's need'} fixing:`}</p>
            <ul>
              ${[...state.issues].map(([name, messages]) => html`<li><a href="${`#in-${name}`}">${userInputs.properties[name]?.title ?? name}</a>: ${messages.join('; ')}</li>`)}
            </ul>
          </div>`
        : ''
    }
    <form
      method="post"
      action="${path('actions', action.identifier, 'run')}"
      class="card form"
      novalidate
      data-state="${path('actions', action.identifier, 'form-state')}"
      data-choices="${path('actions', action.identifier, 'choices')}"
    >
      ${csrfField(context)} ${entityField} ${fields}
      <button type="submit">Run ${action.title ?? action.identifier}</button>
    </form>
    <p class="muted small">From a terminal: <code>idp action run ${action.identifier}</code></p>`
}

/** Suggestions a browser offers without the page's script; the script replaces them with a search. */
const datalist = (id: string, entities: Entity[]) =>
  html`<datalist id="${id}">
    ${entities.map((entity) => html`<option value="${entity.identifier}">${entityLabel(entity)}</option>`)}
  </datalist>`

interface FieldOptions {
  choices: unknown[] | undefined
  /** The user gave this field: the page's script never replaces it with a default. */
  edited: boolean
  hidden: boolean
  issues: string[]
  /** `disabled` by the action. */
  locked: boolean
  required: boolean
  /** An entity input's first entities, for the fields that list them. */
  suggestions: () => Promise<Entity[]>
  typed: string | undefined
  value: unknown
}

/** One input as a form field, chosen by its type and format as the CLI chooses a prompt. */
async function field(name: string, input: UserInput, options: FieldOptions): Promise<Html> {
  const id = `in-${name}`
  const fieldName = `in.${name}`
  const hintId = `${id}-hint`
  const errorId = `${id}-error`
  const hint = hintFor(input, options)
  const described = [input.description || hint ? hintId : '', options.issues.length ? errorId : '']
    .filter(Boolean)
    .join(' ')
  // A hidden field's controls are disabled too, so that they are not sent.
  const off = options.hidden ? html` disabled` : ''
  const common = html` id="${id}"
  name="${fieldName}"${described ? html` aria-describedby="${described}"` : ''}${options.issues.length ? html` aria-invalid="true"` : ''}${options.required ? html` aria-required="true"` : ''}${options.locked ? html` disabled data-locked=""` : off}`
  const text = (value: unknown) =>
    options.typed ??
    (value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value))
  const chosen = (value: unknown) =>
    (Array.isArray(options.value) ? options.value : [options.value]).some((item) => String(item) === String(value))
  const option = (value: string, label: string, selected: boolean) =>
    html`<option value="${value}" ${selected ? html` selected` : ''}>${label}</option>`
  let control: Html
  if (input.encryption) {
    // A secret is never sent back to the browser, not even after a failed submit.
    control = html`<input type="password" autocomplete="off" ${common} />`
  } else if (input.type === 'boolean') {
    control = html`<input type="hidden" name="${fieldName}" value="false" ${off} /><input
        type="checkbox"
        value="true"
        ${options.value === true ? html` checked` : ''}${common}
      />`
  } else if (isEntityInput(input) && entityBlueprint(input) && input.type === 'array') {
    // The first entities, and those chosen past them; the page's script searches for more.
    const entities = await options.suggestions()
    const listed = new Set(entities.map((entity) => entity.identifier))
    const beyond = (Array.isArray(options.value) ? options.value : []).filter(
      (id): id is string => typeof id === 'string' && !listed.has(id),
    )
    control = html`<select multiple data-picker="${name}" ${common}>
      ${entities.map((entity) => option(entity.identifier, entityLabel(entity), chosen(entity.identifier)))}
      ${beyond.map((id) => option(id, id, true))}
    </select>`
  } else if (isEntityInput(input) && entityBlueprint(input)) {
    // A type-ahead search once the page's script runs; without it, a browser's own suggestions.
    control = html`<input
        type="text"
        autocomplete="off"
        list="${`${id}-list`}"
        data-picker="${name}"
        value="${text(options.value)}"
        ${common}
      />${datalist(`${id}-list`, await options.suggestions())}`
  } else if (options.choices ?? (input.type === 'array' && Array.isArray(input.items?.enum))) {
    const choices = options.choices ?? (input.items!.enum as unknown[])
    const many = input.type === 'array'
    control = html`<select${many ? html` multiple` : ''}${common}>${!many && !options.required ? option('', '(none)', options.value === undefined) : ''}${choices.map(
      (choice) => option(String(choice), String(choice), chosen(choice)),
    )}</select>`
  } else if (input.type === 'number' || input.type === 'integer') {
    control = html`<input
      type="number"
      step="${input.type === 'integer' ? '1' : 'any'}"
      ${input.minimum === undefined ? '' : html` min="${input.minimum}"`}${input.maximum === undefined ? '' : html` max="${input.maximum}"`}
      value="${text(options.value)}"
      ${common}
    />`
  } else if (
    input.type === 'object' ||
    input.type === 'array' ||
    ['multi-line', 'yaml', 'markdown', 'proto'].includes(input.format ?? '')
  ) {
    control = html`<textarea rows="4" ${common}>${text(options.value)}</textarea>`
  } else if (input.format === 'date-time') {
    control = html`<input type="text" value="${text(options.value)}" ${common} />`
  } else {
    control = html`<input
      type="${input.format === 'email' ? 'email' : input.format === 'url' ? 'url' : 'text'}"
      value="${text(options.value)}"
      ${common}
    />`
  }
  return html`<div
    class="${options.issues.length ? 'field invalid' : 'field'}"
    data-input="${name}"
    ${options.edited ? html` data-edited=""` : ''}${options.hidden ? html` hidden` : ''}
  >
    <label for="${id}"
      >${input.title ?? name} <span class="req" ${options.required ? '' : html` hidden`}>(required)</span></label
    >
    ${control}
    ${input.description || hint ? html`<p class="hint" id="${hintId}">${input.description ?? ''}${input.description && hint ? ' ' : ''}${hint}</p>` : ''}
    ${options.issues.length ? html`<p class="field-error" id="${errorId}">${options.issues.join('; ')}</p>` : ''}
  </div>`
}

/** What a field expects, beyond the input's own description. */
function hintFor(input: UserInput, options: FieldOptions): string {
  if (input.encryption) return 'Secret: encrypted before it is sent, never shown again.'
  if (input.type === 'boolean') return ''
  if (isEntityInput(input) && entityBlueprint(input)) {
    const filtered = input.dataset ? ' (filtered by the action)' : ''
    return input.type === 'array'
      ? `${entityBlueprint(input)} entities${filtered}; type to search.`
      : `The identifier of a ${entityBlueprint(input)} entity${filtered}; type to search.`
  }
  if (options.choices ?? (input.type === 'array' && Array.isArray(input.items?.enum))) return ''
  if (input.type === 'object') return 'JSON, e.g. {"key": "value"}.'
  if (input.type === 'array') return 'Comma-separated, or a JSON array.'
  if (input.format === 'date-time') return 'A duration such as "5 days" or "in 2 weeks", or an ISO date-time.'
  return ''
}

/** The self-service hub and each action's form, generated from the inputs the CLI prompts from. */
export function selfServicePages(): WebRoute[] {
  return [
    {
      handler: async (context) => ({html: await hub(context)}),
      method: 'GET',
      pattern: '/self-service',
      who: 'signed-in',
    },
    {handler: (context) => actionForm(context, false), method: 'GET', pattern: '/actions/:id/run', who: 'signed-in'},
    {handler: (context) => actionForm(context, true), method: 'POST', pattern: '/actions/:id/run', who: 'signed-in'},
    // signed-in, with the session's CSRF token: reads only what the API lets the credential read.
    {
      handler: formState,
      maxBytes: SCRIPT_FORM_BYTES,
      method: 'POST',
      pattern: '/actions/:id/form-state',
      script: true,
      who: 'signed-in',
    },
    {
      handler: choices,
      maxBytes: SCRIPT_FORM_BYTES,
      method: 'POST',
      pattern: '/actions/:id/choices',
      script: true,
      who: 'signed-in',
    },
  ]
}
