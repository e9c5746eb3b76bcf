import type {IO} from './output.js'

export interface Column<T> {
  header: string
  get: (row: T) => unknown
  /** The value people see on a terminal, when it differs (relative times); scripts get `get`. */
  show?: (row: T) => string
}

const cell = (value: unknown): string => {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}

const flat = (text: string) => text.replaceAll(/[\t\n]/g, ' ')

/** Columns share the width: the widest give way first, none below its header (or 8). */
export function fitWidths(natural: number[], minimum: number[], available: number): number[] {
  const widths = [...natural]
  let excess = widths.reduce((sum, width) => sum + width, 0) - available
  while (excess > 0) {
    let widest = -1
    for (let index = 0; index < widths.length; index++) {
      if (widths[index]! > minimum[index]! && (widest < 0 || widths[index]! > widths[widest]!)) widest = index
    }
    if (widest < 0) break
    widths[widest]!--
    excess--
  }
  return widths
}

/** cli-table3 without any rules: columns set apart by padding alone. */
const NO_RULES = Object.fromEntries(
  [
    'top',
    'top-mid',
    'top-left',
    'top-right',
    'bottom',
    'bottom-mid',
    'bottom-left',
    'bottom-right',
    'left',
    'left-mid',
    'mid',
    'mid-mid',
    'right',
    'right-mid',
    'middle',
  ].map((name) => [name, '']),
)

/**
 * A table on a terminal as gh and kubectl print one: a bold header, columns two spaces apart, no
 * rules, cut to the terminal's width (the widest columns give way, with "…"). Without a TTY:
 * tab-separated rows without a header, so `cut`, `awk` and `while read` work on piped output.
 */
export async function printTable<T>(io: IO, rows: T[], columns: Column<T>[]): Promise<void> {
  if (!io.stdoutIsTTY) {
    for (const row of rows) io.out(columns.map((column) => flat(cell(column.get(row)))).join('\t'))
    return
  }
  if (rows.length === 0) {
    io.err('No results.')
    return
  }
  const values = rows.map((row) =>
    columns.map((column) => flat(column.show ? column.show(row) : cell(column.get(row)))),
  )
  const natural = columns.map((column, index) =>
    Math.max(column.header.length, ...values.map((line) => line[index]!.length)),
  )
  const minimum = columns.map((column, index) => Math.min(natural[index]!, Math.max(column.header.length, 8)))
  const gap = 2
  const widths = fitWidths(natural, minimum, (io.columns ?? 100) - gap * (columns.length - 1))
  const {default: Table} = await import('cli-table3')
  const table = new Table({
    chars: NO_RULES,
    colWidths: widths.map((width) => width + gap),
    head: columns.map((column) => io.color.bold(column.header)),
    style: {border: [], compact: true, head: [], 'padding-left': 0, 'padding-right': gap},
    truncate: '…',
    wordWrap: false,
  })
  table.push(...values)
  io.out(
    table
      .toString()
      .split('\n')
      .map((text) => text.trimEnd())
      .join('\n'),
  )
}
