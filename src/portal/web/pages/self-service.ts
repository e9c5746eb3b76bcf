import {evaluate, isVisible, requiredInputs, type FormContext} from '../../../domain/dynamic-inputs.js'
import {coerceInput, inputOrder, isJq} from '../../../domain/action-inputs.js'
import {encryptInput} from '../../../domain/secret-inputs.js'
import type {UserInput, UserInputs} from '../../../model/inputs.js'
import type {Action, EntitiesQuery, Entity, Rule, Run} from '../../../model/port.js'
import {fillForm} from '../../../services/action-form.js'
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

/** The entities an entity input may pick from: its blueprint, its dataset, and what was typed. */
function entitySearch(context: WebContext) {
  return async (blueprint: string, query: EntitiesQuery | undefined, term: string | undefined): Promise<Entity[]> => {
    const rules: (Rule | EntitiesQuery)[] = query ? [query] : []
    if (term) {
      rules.push({
        combinator: 'or',
        rules: [
          {operator: 'contains', property: '$identifier', value: term},
          {operator: 'contains', property: '$title', value: term},
        ],
      })
    }
    const {entities} = await context.api<{entities: Entity[]}>(
      'POST',
      path('v1', 'blueprints', blueprint, 'entities', 'search'),
      {body: {limit: 200, query: {combinator: 'and', rules}}},
    )
    return entities
  }
}

interface FormState {
  /** What was typed, by input (never a secret's). */
  typed: Record<string, string>
  values: Record<string, unknown>
  issues: Map<string, string[]>
  /** A problem that is no one field's. */
  problem?: string | undefined
}

const isEntityInput = (input: UserInput) =>
  input.format === 'entity' || (input.type === 'array' && input.items?.format === 'entity')
const entityBlueprint = (input: UserInput) =>
  input.format === 'entity' ? input.blueprint : ((input.items?.blueprint as string | undefined) ?? input.blueprint)

/** The action's target entity (DAY-2 and DELETE), read through the API. */
async function target(context: WebContext, action: Action, id: string | null | undefined) {
  if (!id || action.trigger.operation === 'CREATE' || !action.trigger.blueprintIdentifier) return undefined
  const {entity} = await context.api<{entity: Entity}>(
    'GET',
    path('v1', 'blueprints', action.trigger.blueprintIdentifier, 'entities', id),
  )
  return entity
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

async function actionForm(context: WebContext, submitted: boolean) {
  const {action} = await context.api<{action: Action}>('GET', path('v1', 'actions', context.params.id!))
  if (action.trigger.type !== 'self-service') {
    throw new PortalError(404, 'not_found', `"${action.identifier}" is an automation; it runs on events, not by hand`)
  }
  const source = submitted ? context.form : context.url.searchParams
  const entity = await target(context, action, source.get('entity'))
  const state: FormState = {issues: new Map(), typed: {}, values: {}}
  const given = submitted ? readFields(action, context.form, context.now, state) : {}
  const jq = context.core.options.jq
  const user = {email: `${context.session!.clientId}@clients`}
  const search = entitySearch(context)
  const filled = await fillForm({action, clock: () => context.now, entity, given, jq, searchEntities: search, user})
  state.values = filled.values
  if (submitted) {
    for (const issue of filled.issues) {
      const name = issue.input.split('/')[0]!
      const shown = issue.input.includes('/') ? `${issue.input.slice(name.length)} ${issue.message}` : issue.message
      state.issues.set(name, [...(state.issues.get(name) ?? []), shown])
    }
    for (const {name} of filled.missing) if (!state.issues.has(name)) state.issues.set(name, ['is required'])
    if (action.trigger.operation !== 'CREATE' && !entity)
      state.problem = `Choose the ${action.trigger.blueprintIdentifier} entity to run it on`
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
  const content = await renderForm(context, action, entity, state, {jq, search, user})
  return {
    html: page(context, action.title ?? action.identifier, content, '/self-service'),
    status: submitted ? 422 : 200,
  }
}

async function renderForm(
  context: WebContext,
  action: Action,
  entity: Entity | undefined,
  state: FormState,
  tools: {
    jq: WebContext['core']['options']['jq']
    search: ReturnType<typeof entitySearch>
    user: Record<string, unknown>
  },
): Promise<Html> {
  const userInputs: UserInputs = action.trigger.userInputs ?? {properties: {}}
  const formContext: FormContext = {
    entity: (entity as Record<string, unknown> | undefined) ?? null,
    form: state.values,
    user: tools.user,
  }
  const required = await requiredInputs(userInputs, formContext, tools.jq)
  const fields: Html[] = []
  for (const name of inputOrder(userInputs)) {
    const input = userInputs.properties[name]!
    if (!(await isVisible(input, formContext, tools.jq))) continue
    const choices = await evaluate(input.enum, formContext, tools.jq)
    fields.push(
      await field(name, input, {
        choices,
        disabled: (await evaluate(input.disabled, formContext, tools.jq)) === true,
        issues: state.issues.get(name) ?? [],
        required: required.includes(name),
        search: tools.search,
        typed: state.typed[name],
        value: state.values[name],
        dataset: input.dataset ? ((await resolveJq(input.dataset, formContext, tools.jq)) as EntitiesQuery) : undefined,
      }),
    )
  }
  const operation = action.trigger.operation ?? 'CREATE'
  let entityField: Html = html``
  if (operation !== 'CREATE' && action.trigger.blueprintIdentifier) {
    const candidates = await tools.search(action.trigger.blueprintIdentifier, undefined, undefined)
    entityField = html`<div class="field">
      <label for="entity">${action.trigger.blueprintIdentifier} entity <span class="req">(required)</span></label>
      <select id="entity" name="entity">
        ${entity ? '' : html`<option value="" selected>Choose…</option>`}
        ${candidates.map(
          (candidate) =>
            html`<option
              value="${candidate.identifier}"
              ${entity?.identifier === candidate.identifier ? html` selected` : ''}
            >
              ${candidate.title || candidate.identifier} (${candidate.identifier})
            </option>`,
        )}
      </select>
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
    <form method="post" action="${path('actions', action.identifier, 'run')}" class="card form" novalidate>
      ${csrfField(context)} ${entityField} ${fields}
      <button type="submit">Run ${action.title ?? action.identifier}</button>
    </form>
    <p class="muted small">From a terminal: <code>idp action run ${action.identifier}</code></p>`
}

/** A dataset's rule values may be jqQuery over the form, entity and user (as the CLI resolves them). */
async function resolveJq(
  node: unknown,
  context: FormContext,
  jq: WebContext['core']['options']['jq'],
): Promise<unknown> {
  if (Array.isArray(node)) return Promise.all(node.map((item) => resolveJq(item, context, jq)))
  if (isJq(node)) return jq.first(node.jqQuery, context)
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      await Promise.all(Object.entries(node).map(async ([key, value]) => [key, await resolveJq(value, context, jq)])),
    )
  }
  return node
}

interface FieldOptions {
  choices: unknown[] | undefined
  disabled: boolean
  issues: string[]
  required: boolean
  search: ReturnType<typeof entitySearch>
  typed: string | undefined
  value: unknown
  dataset: EntitiesQuery | undefined
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
  const common = html` id="${id}"
  name="${fieldName}"${described ? html` aria-describedby="${described}"` : ''}${options.issues.length ? html` aria-invalid="true"` : ''}${options.required ? html` aria-required="true"` : ''}${options.disabled ? html` disabled` : ''}`
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
    control = html`<input type="hidden" name="${fieldName}" value="false" /><input
        type="checkbox"
        value="true"
        ${options.value === true ? html` checked` : ''}${common}
      />`
  } else if (isEntityInput(input) && entityBlueprint(input)) {
    const many = input.type === 'array'
    const entities = await options.search(entityBlueprint(input)!, options.dataset, undefined)
    control = html`<select${many ? html` multiple` : ''}${common}>${!many && !options.required ? option('', '(none)', options.value === undefined) : ''}${
      !many && options.required && options.value === undefined ? option('', 'Choose…', true) : ''
    }${entities.map((entity) => option(entity.identifier, entity.title && entity.title !== entity.identifier ? `${entity.title} (${entity.identifier})` : entity.identifier, chosen(entity.identifier)))}</select>`
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
  return html`<div class="field${options.issues.length ? ' invalid' : ''}">
    <label for="${id}"
      >${input.title ?? name}${options.required ? html` <span class="req">(required)</span>` : ''}</label
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
  if (isEntityInput(input) && entityBlueprint(input))
    return `A ${entityBlueprint(input)} entity${input.dataset ? ' (filtered by the action)' : ''}.`
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
  ]
}
