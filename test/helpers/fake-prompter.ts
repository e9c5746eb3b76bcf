import type {Choice, Prompter} from '../../src/prompts/prompter.js'

type Kind = keyof Prompter
export interface Asked {
  kind: Kind
  message: string
  choices?: Choice<unknown>[]
  default?: unknown
}

/**
 * A Prompter answering from a script, in order: each entry names the prompt kind it expects and
 * its answer (or a function of the question). An unexpected prompt fails the test.
 */
export function scriptedPrompter(script: [Kind, unknown][]) {
  const asked: Asked[] = []
  const next = async (kind: Kind, question: Record<string, unknown>) => {
    const entry = script.shift()
    if (!entry) throw new Error(`Unexpected ${kind} prompt: ${String(question.message)}`)
    const [expected, answer] = entry
    if (expected !== kind) throw new Error(`Expected a ${expected} prompt, got ${kind}: ${String(question.message)}`)
    let choices = question.choices as Choice<unknown>[] | undefined
    if (kind === 'search')
      choices = await (question.source as (term: string | undefined) => Promise<Choice<unknown>[]>)(undefined)
    asked.push({choices, default: question.default, kind, message: String(question.message)})
    const value =
      typeof answer === 'function'
        ? await (answer as (q: unknown, choices?: Choice<unknown>[]) => unknown)(question, choices)
        : answer
    const validate = question.validate as ((value: unknown) => unknown) | undefined
    if (validate && (kind === 'input' || kind === 'password' || kind === 'editor')) {
      const verdict = await validate(value)
      if (verdict !== true) throw new Error(`Answer ${JSON.stringify(value)} rejected: ${String(verdict)}`)
    }
    return value
  }
  const prompter = Object.fromEntries(
    (['input', 'password', 'confirm', 'number', 'select', 'checkbox', 'search', 'editor'] as Kind[]).map((kind) => [
      kind,
      (question: Record<string, unknown>) => next(kind, question),
    ]),
  ) as unknown as Prompter
  return {asked, left: () => script.length, prompter}
}
