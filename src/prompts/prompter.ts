import {ExitCode, IdpError} from '../errors.js'

export type Validate<T> = (value: T) => true | string | Promise<true | string>

export interface Choice<T> {
  name: string
  value: T
  description?: string
  checked?: boolean
}

/**
 * The questions idp asks. Commands get the inquirer implementation on a terminal; tests inject
 * a scripted one. Only ever used when prompting is allowed (TTY, no --no-input, no CI).
 */
export interface Prompter {
  input(question: {
    message: string
    default?: string
    validate?: Validate<string>
    transformer?: (value: string) => string
  }): Promise<string>
  password(question: {message: string; validate?: Validate<string>}): Promise<string>
  confirm(question: {message: string; default?: boolean}): Promise<boolean>
  number(question: {
    message: string
    default?: number
    min?: number
    max?: number
    required?: boolean
    step?: number | 'any'
  }): Promise<number | undefined>
  select<T>(question: {message: string; choices: Choice<T>[]; default?: T}): Promise<T>
  checkbox<T>(question: {
    message: string
    choices: Choice<T>[]
    validate?: Validate<readonly Choice<T>[]>
  }): Promise<T[]>
  search<T>(question: {message: string; source: (term: string | undefined) => Promise<Choice<T>[]>}): Promise<T>
  editor(question: {message: string; default?: string; validate?: Validate<string>}): Promise<string>
}

/** Ctrl-C at a prompt: a quiet stop (exit 130) before anything was sent. */
export const cancelled = () => new IdpError('Cancelled.', {code: 'cancelled', exitCode: ExitCode.INTERRUPTED})

/** @inquirer/prompts, drawing on stderr so stdout stays clean for data. Loaded on first use. */
export function inquirerPrompter(output: NodeJS.WritableStream = process.stderr): Prompter {
  const context = {output}
  const load = () => import('@inquirer/prompts')
  // Inquirer rejects with ExitPromptError when the user presses Ctrl-C (or closes the input).
  const ask = async <T>(question: Promise<T>): Promise<T> => {
    try {
      return await question
    } catch (error) {
      if ((error as Error).name === 'ExitPromptError') throw cancelled()
      throw error
    }
  }
  return {
    async checkbox(question) {
      return ask((await load()).checkbox({...question, validate: question.validate as never}, context))
    },
    async confirm(question) {
      return ask((await load()).confirm(question, context))
    },
    async editor(question) {
      return ask((await load()).editor({...question, waitForUseInput: false} as never, context))
    },
    async input(question) {
      return ask((await load()).input(question, context))
    },
    async number(question) {
      return ask((await load()).number({...question, step: question.step ?? 'any'}, context))
    },
    async password(question) {
      return ask((await load()).password({...question, mask: '*'}, context))
    },
    async search(question) {
      return ask((await load()).search(question, context))
    },
    async select(question) {
      return ask((await load()).select(question, context))
    },
  }
}
