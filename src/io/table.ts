import type {IO} from './output.js'

export interface Column<T> {
  header: string
  get: (row: T) => unknown
}

const cell = (value: unknown): string => {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}

/**
 * A boxed table on a terminal; tab-separated rows without a header otherwise, so `cut`, `awk`
 * and `while read` work on piped output (gh does the same).
 */
export async function printTable<T>(io: IO, rows: T[], columns: Column<T>[]): Promise<void> {
  const values = rows.map((row) => columns.map((column) => cell(column.get(row)).replaceAll(/[\t\n]/g, ' ')))
  if (!io.stdoutIsTTY) {
    for (const line of values) io.out(line.join('\t'))
    return
  }
  if (rows.length === 0) {
    io.err('No results.')
    return
  }
  const {default: Table} = await import('cli-table3')
  const table = new Table({
    head: columns.map((column) => io.color.bold(column.header)),
    style: {head: [], border: []},
    wordWrap: true,
  })
  table.push(...values)
  io.out(table.toString())
}
