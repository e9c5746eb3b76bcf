import type {Blueprint, Entity} from '../model/port.js'
import {usageError} from '../errors.js'
import {didYouMean} from '../shared/suggest.js'

export interface EntityColumn {
  name: string
  header: string
  get: (entity: Entity) => unknown
  /** Date-times: shown relative to now on a terminal. */
  time?: boolean
}

const META: Record<string, (entity: Entity) => unknown> = {
  identifier: (entity) => entity.identifier,
  title: (entity) => entity.title,
  team: (entity) => (entity.team ?? []).join(', '),
  createdAt: (entity) => entity.createdAt,
  createdBy: (entity) => entity.createdBy,
  updatedAt: (entity) => entity.updatedAt,
  updatedBy: (entity) => entity.updatedBy,
}

const header = (name: string) => name.replaceAll(/([a-z])([A-Z])/g, '$1 $2').toUpperCase()

/** Every column an entity list can show for a blueprint: meta fields, properties, relations. */
export function availableColumns(blueprint: Blueprint): EntityColumn[] {
  const columns: EntityColumn[] = Object.entries(META).map(([name, get]) => ({
    get,
    header: header(name),
    name,
    time: name.endsWith('At'),
  }))
  for (const [name, schema] of Object.entries(blueprint.schema.properties)) {
    columns.push({
      get: (entity) => entity.properties?.[name],
      header: header(name),
      name,
      time: schema.format === 'date-time' || schema.format === 'timer',
    })
  }
  for (const [name, relation] of Object.entries(blueprint.relations ?? {})) {
    columns.push({
      get: (entity) => {
        const value = entity.relations?.[name]
        return Array.isArray(value) ? value.join(', ') : value
      },
      header: `${header(name)}${relation.many ? ' (MANY)' : ''}`,
      name,
    })
  }
  return columns
}

/**
 * The columns to show: those named by --columns, in that order, else identifier, title, the
 * blueprint's properties and single relations, and team where the blueprint has owners (the
 * table gives way to the terminal's width).
 */
export function chooseColumns(blueprint: Blueprint, names: string[] | undefined): EntityColumn[] {
  const available = availableColumns(blueprint)
  const byName = new Map(available.map((column) => [column.name, column]))
  if (names?.length) {
    return names.map((name) => {
      const column = byName.get(name)
      if (!column) {
        throw usageError(
          `--columns: blueprint "${blueprint.identifier}" has no column "${name}".${didYouMean(name, byName.keys())}`,
          `Columns: ${[...byName.keys()].join(', ')}`,
        )
      }
      return column
    })
  }
  const owned = Boolean(blueprint.ownership)
  return available.filter(
    (column) =>
      column.name === 'identifier' ||
      column.name === 'title' ||
      (column.name === 'team' && owned) ||
      column.name in blueprint.schema.properties ||
      (blueprint.relations?.[column.name] !== undefined && !blueprint.relations[column.name]!.many),
  )
}
