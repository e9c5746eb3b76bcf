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

/**
 * Loads what every inquirer prompt is drawn with (most of a prompt's loading time), for a command
 * that is about to wait on the network before its first question.
 */
export async function preloadPrompts(): Promise<void> {
  await import('@inquirer/core')
}

/**
 * Inquirer's prompts, drawing on stderr so stdout stays clean for data. Each kind loads on its
 * first use, alone: @inquirer/prompts would load all of them, the editor's charset detection and
 * encodings included, before the first question shows.
 */
export function inquirerPrompter(output: NodeJS.WritableStream = process.stderr): Prompter {
  const context = {output}
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
      const {default: checkbox} = await import('@inquirer/checkbox')
      return ask(checkbox({...question, validate: question.validate as never}, context))
    },
    async confirm(question) {
      const {default: confirm} = await import('@inquirer/confirm')
      return ask(confirm(question, context))
    },
    async editor(question) {
      const {default: editor} = await import('@inquirer/editor')
      return ask(editor({...question, waitForUseInput: false} as never, context))
    },
    async input(question) {
      const {default: input} = await import('@inquirer/input')
      return ask(input(question, context))
    },
    async number(question) {
      const {default: number} = await import('@inquirer/number')
      return ask(number({...question, step: question.step ?? 'any'}, context))
    },
    async password(question) {
      const {default: password} = await import('@inquirer/password')
      return ask(password({...question, mask: '*'}, context))
    },
    async search(question) {
      const {default: search} = await import('@inquirer/search')
      return ask(search(question, context))
    },
    async select(question) {
      const {default: select} = await import('@inquirer/select')
      return ask(select(question, context))
    },
  }
}
