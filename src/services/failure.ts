/** A line of a stack trace: JavaScript's `at …`, Python's `File "…"` and its code and caret lines. */
const FRAME = /^\s+(at\s|File\s"|\^+\s*$|~+\s*$)|^Traceback \(most recent call last\)|^\s*\.\.\. \d+ more/

/**
 * The one line that says why something failed, out of its last output lines: the last line that
 * names an error, else the last line that is not part of a stack trace.
 */
export function failureLine(lines: string[]): string | undefined {
  const meaningful = lines.map((line) => line.trimEnd()).filter((line) => line.trim() !== '' && !FRAME.test(line))
  const named = meaningful.filter((line) => /error|exception|fatal|failed|denied|not found|refused/i.test(line))
  return (named.at(-1) ?? meaningful.at(-1))?.trim()
}

/** A run summary for one line: its most telling line when it holds several (such as a stack). */
export function summaryLine(summary: string): string {
  const lines = summary.split('\n')
  return lines.length === 1 ? summary : (failureLine(lines) ?? lines[0]!)
}
