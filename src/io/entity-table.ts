import type {Blueprint, Entity} from '../model/port.js'
import {chooseColumns} from './entity-columns.js'
import type {IO} from './output.js'
import {printTable} from './table.js'
import {isIsoTime, relativeTime} from './time.js'

/** Entities as `idp entity list` shows them: the blueprint's columns, times relative to now on a terminal. */
export async function printEntities(
  io: IO,
  blueprint: Blueprint,
  entities: Entity[],
  columns?: string[] | undefined,
): Promise<void> {
  const now = new Date()
  await printTable(
    io,
    entities,
    chooseColumns(blueprint, columns).map((column) => ({
      get: column.get,
      header: column.header,
      ...(column.time
        ? {
            show: (entity: Entity) => {
              const value = column.get(entity)
              return isIsoTime(value) ? relativeTime(value, now) : String(value ?? '')
            },
          }
        : {}),
    })),
  )
}
