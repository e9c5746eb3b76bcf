import type {JqEngine} from '../jq/engine.js'
import type {Dynamic, UserInput, UserInputs} from '../model/inputs.js'
import {isJq} from './action-inputs.js'

/** What Port's `{jqQuery}` expressions see: the form so far, the target entity and the user. */
export interface FormContext {
  form: Record<string, unknown>
  entity: Record<string, unknown> | null
  user: Record<string, unknown>
}

export async function evaluate<T>(
  value: Dynamic<T> | undefined,
  context: FormContext,
  jq: JqEngine,
): Promise<T | undefined> {
  if (!isJq(value)) return value
  return (await jq.first(value.jqQuery, context)) as T | undefined
}

export async function isVisible(input: UserInput, context: FormContext, jq: JqEngine): Promise<boolean> {
  return (await evaluate(input.visible, context, jq)) !== false
}

export async function requiredInputs(userInputs: UserInputs, context: FormContext, jq: JqEngine): Promise<string[]> {
  const required = await evaluate(userInputs.required, context, jq)
  return Array.isArray(required) ? required.filter((name): name is string => typeof name === 'string') : []
}
