import type {Action} from '../../model/port.js'
import type {UserInputs} from '../../model/inputs.js'
import {checkInputs} from '../../domain/action-inputs.js'
import {evaluate, isVisible, requiredInputs, type FormContext} from '../../domain/dynamic-inputs.js'
import {decryptSecret, encryptSecret} from '../../domain/secret-inputs.js'
import {JqEvalError, type JqEngine} from '../../jq/engine.js'
import {invalid, notFound, PortalError} from '../http/errors.js'
import type {Credential, Store} from '../store/store.js'
import {textOf} from '../../shared/json.js'

/** The entity a run acts on: none for CREATE actions and actions without a blueprint. */
export async function targetEntity(store: Store, action: Action, identifier: string | undefined) {
  const {blueprintIdentifier, operation} = action.trigger
  if (operation === 'CREATE' || !blueprintIdentifier) {
    if (identifier !== undefined && operation === 'CREATE') {
      throw invalid('Invalid run', [{message: 'is not taken by CREATE actions', pointer: '/entity'}])
    }
    return undefined
  }
  if (!identifier) {
    throw invalid('Invalid run', [
      {
        message: `is required: ${operation} actions run on an entity of blueprint "${blueprintIdentifier}"`,
        pointer: '/entity',
      },
    ])
  }
  const entity = await store.getEntity(blueprintIdentifier, identifier)
  if (!entity) throw notFound(`Entity "${identifier}" of blueprint "${blueprintIdentifier}" was not found`)
  return entity
}

/**
 * Defaults for missing inputs, hidden inputs dropped, every value checked (422 naming each bad
 * input), and secret inputs stored encrypted with the organisation's secret.
 */
export async function runInputs(
  store: Store,
  jq: JqEngine,
  action: Action,
  userInputs: UserInputs,
  context: FormContext,
  caller: Credential,
) {
  const values: Record<string, unknown> = {...context.form}
  const issues: {input: string; message: string}[] = []
  let required: string[] = []
  const hidden = new Set<string>()
  try {
    for (const [name, input] of Object.entries(userInputs.properties ?? {})) {
      if (!(await isVisible(input, {...context, form: values}, jq))) {
        hidden.add(name)
        delete values[name]
        continue
      }
      if (values[name] === undefined && input.default !== undefined) {
        values[name] = await evaluate(input.default, {...context, form: values}, jq)
      }
    }
    required = (await requiredInputs(userInputs, {...context, form: values}, jq)).filter((name) => !hidden.has(name))
  } catch (error) {
    if (error instanceof JqEvalError)
      throw new PortalError(422, 'invalid_request', `Action "${action.identifier}": a jqQuery failed: ${error.message}`)
    throw error
  }
  // Secret inputs arrive as plain text (Port's API) or encrypted with the caller's secret (idp)
  // or the organisation's: their constraints are checked on the plain text.
  const orgSecret = (await store.adminCredential())?.clientSecret
  const secrets = Object.entries(userInputs.properties ?? {}).filter(
    ([name, input]) => input.encryption === 'aes256-gcm' && values[name] !== undefined,
  )
  for (const [name] of secrets) {
    const value = values[name]
    const text = textOf(value)
    const plain =
      (orgSecret ? decryptSecret(text, orgSecret) : undefined) ?? decryptSecret(text, caller.clientSecret) ?? text
    values[name] = typeof value === 'string' ? plain : value
  }
  issues.push(...checkInputs(userInputs, values, required, `action:${action.identifier}:${action.updatedAt ?? ''}`))
  if (issues.length > 0) {
    throw invalid(
      `Invalid inputs for action "${action.identifier}"`,
      issues.map((issue) => ({message: issue.message, pointer: `/properties/${issue.input}`})),
    )
  }
  if (!orgSecret) return values
  for (const [name] of secrets) {
    const value = values[name]
    values[name] = encryptSecret(textOf(value), orgSecret)
  }
  return values
}
