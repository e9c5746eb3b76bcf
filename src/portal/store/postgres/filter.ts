import type {EntityFilter, EntityRef, FilterValue} from '../store.js'

/** A condition over the `entities` table, with its bound parameters ($1 … $n after `offset`). */
export interface SqlCondition {
  sql: string
  params: unknown[]
}

/**
 * Translates a store filter to PostgreSQL over the `data` jsonb column. Values are compared as
 * jsonb, which for the texts JSON.stringify writes is exactly the SQLite store's comparison of
 * minified JSON texts. Every leaf is coalesced to a boolean, so `NOT` of an absent value is true as
 * it is in Port's rules. Identifiers, blueprints and teams are read from their own indexed columns.
 * Every value is a bound parameter; no caller text becomes SQL. `offset`: parameters already bound.
 */
export function filterSql(filter: EntityFilter, offset = 0): SqlCondition {
  const params: unknown[] = []
  const bind = (value: unknown, cast = '') => {
    params.push(value)
    return `$${offset + params.length}${cast}`
  }
  const jsonList = (texts: string[]) => bind(texts, '::jsonb[]')

  const condition = (node: EntityFilter): string => {
    if ('all' in node) return node.all.length === 0 ? 'true' : `(${node.all.map(condition).join(' AND ')})`
    if ('any' in node) return node.any.length === 0 ? 'false' : `(${node.any.map(condition).join(' OR ')})`
    if ('not' in node) return `(NOT ${condition(node.not)})`
    if ('entities' in node) return oneOfEntities(node.entities, bind)
    const column = columnFor(node.value)
    if (column && 'equals' in node && node.equals !== null) {
      const text = stringOf(node.equals)
      return text === undefined ? 'false' : `(${column} = ${bind(text, '::text')})`
    }
    if (column && 'oneOf' in node) return `(${column} = ANY(${bind(strings(node.oneOf), '::text[]')}))`
    if ('field' in node.value && node.value.field === 'team' && 'oneOf' in node) {
      // The team column holds the entity's teams (an array of names, always present).
      return `(team && ${bind(strings(node.oneOf), '::text[]')})`
    }
    const value = valueSql(node.value, bind)
    const text = `(${value} #>> '{}')`
    const type = `jsonb_typeof(${value})`
    // Property values found by the GIN index first (`narrowed`), then checked exactly.
    const narrowed = (texts: string[], asItems: boolean, exact: string) =>
      'property' in node.value ? `(${holds(node.value.property, texts, asItems, bind)} AND ${exact})` : exact
    if ('equals' in node) {
      if (node.equals === null) return `(${value} IS NULL)`
      return narrowed([node.equals], false, `(${value} IS NOT DISTINCT FROM ${bind(node.equals, '::jsonb')})`)
    }
    if ('oneOf' in node) {
      const list = jsonList(node.oneOf)
      const exact = `coalesce(CASE ${type} WHEN 'array' THEN ${hasItem(value, list)} ELSE ${value} = ANY(${list}) END, false)`
      return node.oneOf.length ? narrowed(node.oneOf, true, exact) : exact
    }
    if ('contains' in node) {
      const inText =
        node.contains.text === undefined ? 'false' : `strpos(${text}, ${bind(node.contains.text, '::text')}) > 0`
      return `coalesce(CASE ${type} WHEN 'string' THEN ${inText}
        WHEN 'array' THEN ${hasItem(value, jsonList([node.contains.item]))} ELSE false END, false)`
    }
    if ('startsWith' in node) {
      return `coalesce(${type} = 'string' AND starts_with(${text}, ${bind(node.startsWith, '::text')}), false)`
    }
    if ('endsWith' in node) {
      const suffix = bind(node.endsWith, '::text')
      return `coalesce(${type} = 'string' AND right(${text}, length(${suffix})) = ${suffix}, false)`
    }
    return `(${value} IS NULL OR ${value} IN ('null', '""', '[]', '{}'))`
  }

  return {params, sql: condition(filter)}
}

/**
 * A condition the GIN index on `data` answers, true of every entity whose property `key` (or,
 * without one, relation) is one of `texts` (or, `asItems`, an array holding one): its document
 * contains that value there. It narrows the rows the exact condition beside it reads; on its own
 * it would also take supersets.
 */
function holds(key: string, texts: string[], asItems: boolean, bind: (value: unknown, cast: string) => string): string {
  const documents = texts.flatMap((text) => {
    const value = JSON.parse(text) as unknown
    return [value, ...(asItems ? [[value]] : [])].flatMap((held) =>
      [{properties: {[key]: held}}, {relations: {[key]: held}}].map((document) => JSON.stringify(document)),
    )
  })
  return `(data @> ANY(${bind(documents, '::jsonb[]')}))`
}

/** Some item of the array `value` is one of the jsonb values in `list` (a bound jsonb[]). */
const hasItem = (value: string, list: string) =>
  `EXISTS (SELECT 1 FROM jsonb_array_elements(${value}) AS item WHERE item = ANY(${list}))`

/** The real column a field is kept in besides the document, when it has one of text values. */
function columnFor(value: FilterValue): string | undefined {
  if (!('field' in value)) return undefined
  return value.field === 'identifier' || value.field === 'blueprint' ? value.field : undefined
}

/** The string a JSON text stands for, or undefined when it is no string. */
function stringOf(text: string): string | undefined {
  const value = JSON.parse(text) as unknown
  return typeof value === 'string' ? value : undefined
}

const strings = (texts: string[]) => texts.map(stringOf).filter((text) => text !== undefined)

function valueSql(value: FilterValue, bind: (value: unknown, cast: string) => string): string {
  if ('field' in value) return `(data -> ${bind(value.field, '::text')})`
  const key = bind(value.property, '::text')
  return `coalesce(data -> 'properties' -> ${key}, data -> 'relations' -> ${key})`
}

/** The entities named, grouped by blueprint: each group one indexed `identifier = ANY(…)`. */
function oneOfEntities(refs: EntityRef[], bind: (value: unknown, cast: string) => string): string {
  const byBlueprint = new Map<string, string[]>()
  for (const ref of refs) {
    const identifiers = byBlueprint.get(ref.blueprint)
    if (identifiers) identifiers.push(ref.identifier)
    else byBlueprint.set(ref.blueprint, [ref.identifier])
  }
  if (byBlueprint.size === 0) return 'false'
  const groups = [...byBlueprint].map(
    ([blueprint, identifiers]) =>
      `(blueprint = ${bind(blueprint, '::text')} AND identifier = ANY(${bind(identifiers, '::text[]')}))`,
  )
  return `(${groups.join(' OR ')})`
}
