import type {EntityText, Store, StoredEntity} from '../store/store.js'
import type {CompiledSearch} from './search.js'
import {project, toWire} from './wire.js'

/** An entity a search found: its stored JSON text, and the parsed entity where the search needed it. */
export interface Found extends EntityText {
  entity?: StoredEntity
}

/**
 * Pages of the entities a compiled search matches, in storage order after `after`. The store
 * filters; where its filter is wider than the query, each entity it finds is parsed and checked.
 */
export async function* searchPages(
  store: Store,
  search: CompiledSearch,
  options: {blueprint?: string | undefined; after?: number; page: number},
): AsyncGenerator<Found[]> {
  const {blueprint, page} = options
  for (let after = options.after ?? 0; ;) {
    const rows = await store.searchEntities({after, blueprint, filter: search.filter, limit: page})
    if (rows.length === 0) return
    after = rows.at(-1)!.seq
    if (search.exact) yield rows
    else {
      yield rows.flatMap((row) => {
        const entity = parseEntity(row.json)
        return search.match(entity) ? [{...row, entity}] : []
      })
    }
    if (rows.length < page) return
  }
}

/** A search that matches every entity. */
export const EVERY: CompiledSearch = {exact: true, filter: {all: []}, match: () => true}

/** Every entity of a blueprint, parsed, page by page: for changes that touch each of them. */
export async function* blueprintEntities(store: Store, blueprint: string): AsyncGenerator<StoredEntity[]> {
  for await (const page of searchPages(store, EVERY, {blueprint, page: 500})) yield page.map(entityOf)
}

/** The entity a search found, parsed from its text unless the search already did. */
export const entityOf = (found: Found): StoredEntity => found.entity ?? parseEntity(found.json)

/**
 * How a found entity is answered: its stored text as it is, or, with `include`/`exclude` field
 * lists, the projection of it.
 */
export function entityText(include: string[], exclude: string[]): (found: Found) => string {
  if (include.length === 0 && exclude.length === 0) return (found) => found.json
  return (found) => JSON.stringify(project(toWire(entityOf(found)), include, exclude))
}

const parseEntity = (json: string) => JSON.parse(json) as StoredEntity
