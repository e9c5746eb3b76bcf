import type {Entity} from '../model/port.js'
import type {IO} from './output.js'
import {textOf} from '../shared/json.js'

/** One entity as `key value` lines: identifier, blueprint, title, team, properties, relations. */
export function printEntity(io: IO, blueprint: string, entity: Entity): void {
  const {bold} = io.color
  const line = (key: string, value: unknown) => io.out(`${bold(key.padEnd(14))} ${textOf(value)}`)
  line('identifier', entity.identifier)
  line('blueprint', blueprint)
  if (entity.title) line('title', entity.title)
  if (entity.team?.length) line('team', entity.team.join(', '))
  for (const [key, value] of Object.entries(entity.properties)) line(key, value)
  for (const [key, value] of Object.entries(entity.relations))
    line(`${key} →`, Array.isArray(value) ? value.join(', ') : value)
}
