import {Chalk} from 'chalk'
import {describe, expect, it} from 'vitest'

import type {IO} from '../../src/io/output.js'
import {fitWidths, printTable} from '../../src/io/table.js'
import {relativeTime} from '../../src/io/time.js'
import {chooseColumns} from '../../src/io/entity-columns.js'

const terminal = (columns: number) => {
  const lines: string[] = []
  const io: IO = {
    canPrompt: false,
    color: new Chalk({level: 0}),
    columns,
    err: () => undefined,
    out: (text) => lines.push(...text.split('\n')),
    readInput: () => '',
    stderrIsTTY: true,
    stdoutIsTTY: true,
  }
  return {io, lines}
}

describe('tables people can read', () => {
  it('have no rules, and give way to the terminal width from the widest column', async () => {
    const {io, lines} = terminal(40)
    const rows = [{id: 'cart', note: 'x'.repeat(80)}]
    await printTable(io, rows, [
      {get: (row) => row.id, header: 'IDENTIFIER'},
      {get: (row) => row.note, header: 'NOTE'},
    ])
    expect(lines).toHaveLength(2)
    expect(lines[0]).toBe('IDENTIFIER  NOTE')
    expect(lines[1]!.length).toBeLessThanOrEqual(40)
    expect(lines[1]).toMatch(/^cart {8}x+…$/)
    expect(lines.join('\n')).not.toMatch(/[─│┼┌]/)
  })

  it('fit widths: the widest shrink first, none below its minimum', () => {
    expect(fitWidths([10, 50, 20], [8, 8, 8], 60)).toEqual([10, 30, 20])
    expect(fitWidths([10, 10], [10, 10], 5)).toEqual([10, 10])
  })

  it('show times relative to now', () => {
    const now = new Date('2026-11-30T12:00:00Z')
    expect(relativeTime('2026-12-05T12:00:00Z', now)).toBe('in 5 days')
    expect(relativeTime('2026-11-30T11:58:00Z', now)).toBe('2m ago')
    expect(relativeTime('2026-11-30T12:00:10Z', now)).toBe('in a moment')
    expect(relativeTime('2026-11-30T13:00:00Z', now)).toBe('in 1 hour')
  })

  it("entity lists show a blueprint's properties and single relations by default; --columns picks", () => {
    const blueprint = {
      identifier: 'DevEnv',
      ownership: {type: 'Direct'},
      relations: {
        owner: {many: false, required: false, target: 'user'},
        deps: {many: true, required: false, target: 'x'},
      },
      schema: {properties: {ttl: {format: 'timer', type: 'string' as const}}},
      title: 'Dev env',
    }
    expect(chooseColumns(blueprint, undefined).map((column) => column.name)).toEqual([
      'identifier',
      'title',
      'team',
      'ttl',
      'owner',
    ])
    expect(chooseColumns(blueprint, ['ttl', 'identifier']).map((column) => column.header)).toEqual([
      'TTL',
      'IDENTIFIER',
    ])
    expect(() => chooseColumns(blueprint, ['tll'])).toThrow('Did you mean "ttl"?')
  })
})
