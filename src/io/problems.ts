import type {Problem} from '../catalog/types.js'
import {plural} from '../shared/plural.js'
import type {IO} from './output.js'

export type ProblemFormat = 'text' | 'github'

const where = (problem: Problem) =>
  [problem.file, problem.line, problem.line === undefined ? undefined : problem.column]
    .filter((part) => part !== undefined)
    .join(':')

/** `file:line:column: error: message (at /pointer)`, or GitHub Actions annotations. */
export function printProblems(io: IO, problems: Problem[], format: ProblemFormat): void {
  for (const problem of problems) {
    const at = problem.pointer ? ` (at ${problem.pointer || '/'})` : ''
    if (format === 'github') {
      const properties = [`file=${escapeProperty(problem.file)}`]
      if (problem.line !== undefined) properties.push(`line=${problem.line}`)
      if (problem.column !== undefined) properties.push(`col=${problem.column}`)
      io.out(`::${problem.severity} ${properties.join(',')}::${escapeData(problem.message + at)}`)
    } else {
      const label = problem.severity === 'error' ? io.color.red('error') : io.color.yellow('warning')
      io.err(`${where(problem)}: ${label}: ${problem.message}${io.color.dim(at)}`)
    }
  }
}

/** GitHub's workflow-command escaping. */
const escapeData = (text: string) => text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A')
const escapeProperty = (text: string) => escapeData(text).replaceAll(':', '%3A').replaceAll(',', '%2C')

/** "1 problem in examples/catalog", "3 problems in the current folder" (not "in .." at the end of a sentence). */
export const problemsIn = (count: number, dir: string): string =>
  `${plural(count, 'problem')} in ${dir === '.' || dir === './' ? 'the current folder' : dir}`

export const problemJson = (problem: Problem) => ({
  file: problem.file,
  line: problem.line ?? null,
  column: problem.column ?? null,
  pointer: problem.pointer ?? null,
  message: problem.message,
})
