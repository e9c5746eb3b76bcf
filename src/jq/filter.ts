import {usageError} from '../errors.js'

/**
 * `--jq EXPR` as gh has it: every output of the expression over a command's JSON, strings
 * unquoted, anything else as JSON (indented on a terminal, one line each when piped). Real jq
 * (jq-wasm), loaded only when a command is given --jq.
 */
export async function jqLines(expression: string, input: unknown, pretty: boolean): Promise<string[]> {
  const {loadJq} = await import('jq-wasm')
  const jq = await loadJq()
  let outputs: unknown[]
  try {
    outputs = jq.json(JSON.stringify(input ?? null), expression)
  } catch (error) {
    const {stderr} = error as {stderr?: string}
    const message = (stderr || (error as Error).message)
      .replace(/^jq: error( \(at [^)]*\))?: /m, '')
      .replace(/\njq: \d+ compile errors?$/, '')
      .trim()
    throw usageError(
      `--jq ${JSON.stringify(expression)}: ${message}`,
      'The expression is jq (https://jqlang.org/manual/).',
    )
  }
  return outputs.map((value) =>
    typeof value === 'string' ? value : pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value),
  )
}
