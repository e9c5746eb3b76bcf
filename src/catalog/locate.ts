import type {Problem} from './types.js'

/** Line and column (1-based) of a character offset. */
export function lineColumn(text: string, offset: number): {line: number; column: number} {
  let line = 1
  let start = 0
  for (let index = text.indexOf('\n'); index !== -1 && index < offset; index = text.indexOf('\n', index + 1)) {
    line++
    start = index + 1
  }
  return {column: offset - start + 1, line}
}

const unescape = (segment: string) => segment.replaceAll('~1', '/').replaceAll('~0', '~')

/**
 * Where a JSON pointer lands in a JSON or YAML text: the key of the deepest member that exists
 * (a missing required field points at the object that lacks it). Uses the `yaml` CST, which reads
 * JSON too, and is only loaded when there is something to point at.
 */
export async function locatePointer(text: string, pointer: string): Promise<{line: number; column: number}> {
  const {isMap, isSeq, parseDocument} = await import('yaml')
  const document = parseDocument(text, {keepSourceTokens: false, uniqueKeys: false})
  let node: unknown = document.contents
  let offset = (node as {range?: number[]} | null)?.range?.[0] ?? 0
  for (const segment of pointer.split('/').slice(1).map(unescape)) {
    if (isMap(node)) {
      const pair = node.items.find((item) => String((item.key as {value?: unknown})?.value ?? item.key) === segment)
      if (!pair) break
      offset = (pair.key as {range?: number[]})?.range?.[0] ?? offset
      node = pair.value
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)] as {range?: number[]} | undefined
      if (!item) break
      offset = item.range?.[0] ?? offset
      node = item
    } else {
      break
    }
  }
  return lineColumn(text, offset)
}

/** Fills in line and column for problems that carry a pointer, reading each file once. */
export async function locateProblems(problems: Problem[], read: (file: string) => string): Promise<void> {
  const texts = new Map<string, string>()
  for (const problem of problems) {
    if (problem.line !== undefined || problem.pointer === undefined) continue
    let text = texts.get(problem.file)
    if (text === undefined) {
      try {
        text = read(problem.file)
      } catch {
        continue
      }
      texts.set(problem.file, text)
    }
    Object.assign(problem, await locatePointer(text, problem.pointer))
  }
}
