import type {EntityFilter, EntityRef, FilterValue} from '../store.js'

/** A condition over the `entities` table's `data` column, with its bound parameters. */
export interface SqlCondition {
  sql: string
  params: unknown[]
}

/**
 * Translates a store filter to SQLite SQL over JSON text. `data -> path` gives a value's minified
 * JSON text exactly as JSON.stringify wrote it (SQLite keeps numbers' and strings' text), so JSON
 * texts compare for equality. Every value is a bound parameter; no caller text becomes SQL.
 */
export function filterSql(filter: EntityFilter): SqlCondition {
  const params: unknown[] = []
  const bind = (value: unknown) => {
    params.push(value)
    return '?'
  }
  const list = (values: string[]) => (values.length === 0 ? '(NULL)' : `(${values.map(bind).join(', ')})`)

  const condition = (node: EntityFilter): string => {
    if ('all' in node) return node.all.length === 0 ? '1' : `(${node.all.map(condition).join(' AND ')})`
    if ('any' in node) return node.any.length === 0 ? '0' : `(${node.any.map(condition).join(' OR ')})`
    if ('not' in node) return `(NOT ${condition(node.not)})`
    if ('entities' in node) return oneOfEntities(node.entities, bind)
    const value = valueSql(node.value)
    const text = `(${value} ->> '$')`
    if ('equals' in node) return node.equals === null ? `(${value} IS NULL)` : `(${value} IS ${bind(node.equals)})`
    if ('oneOf' in node) {
      return `(CASE json_type(${value}) WHEN 'array' THEN ${hasItem(value, list(node.oneOf))}
        ELSE coalesce(${value} IN ${list(node.oneOf)}, 0) END)`
    }
    if ('contains' in node) {
      const inText = node.contains.text === undefined ? '0' : `instr(${text}, ${bind(node.contains.text)}) > 0`
      return `(CASE json_type(${value}) WHEN 'text' THEN ${inText}
        WHEN 'array' THEN ${hasItem(value, list([node.contains.item]))} ELSE 0 END)`
    }
    if ('startsWith' in node) {
      return `(json_type(${value}) IS 'text' AND substr(${text}, 1, length(${bind(node.startsWith)})) = ${bind(node.startsWith)})`
    }
    if ('endsWith' in node) {
      if (node.endsWith === '') return `(json_type(${value}) IS 'text')`
      return `(json_type(${value}) IS 'text' AND substr(${text}, -length(${bind(node.endsWith)})) = ${bind(node.endsWith)})`
    }
    return `(${value} IS NULL OR ${value} IN ('null', '""', '[]', '{}'))`
  }

  return {params, sql: condition(filter)}
}

/** Some item of the array `value` has one of the JSON texts in `texts` (an SQL list). */
const hasItem = (value: string, texts: string) =>
  `EXISTS (SELECT 1 FROM json_each(${value}) AS item WHERE (${value} -> ('$[' || item.key || ']')) IN ${texts})`

/**
 * A JSON path label for a key: its text as JSON.stringify escapes it, which is how SQLite matches
 * labels against the stored text (`$."a\"b"` finds the key `a"b`).
 */
const label = (key: string) => JSON.stringify(key)

function valueSql(value: FilterValue): string {
  // Keys are quoted into the path as JSON string literals; SQL quotes inside are doubled.
  const path = (...keys: string[]) => `'$.${keys.map(label).join('.').replaceAll("'", "''")}'`
  if ('field' in value) return `(data -> ${path(value.field)})`
  return `coalesce(data -> ${path('properties', value.property)}, data -> ${path('relations', value.property)})`
}

/** The entities named, grouped by blueprint: each group one indexed `identifier IN (…)`. */
function oneOfEntities(refs: EntityRef[], bind: (value: unknown) => string): string {
  const byBlueprint = new Map<string, string[]>()
  for (const ref of refs) {
    const identifiers = byBlueprint.get(ref.blueprint)
    if (identifiers) identifiers.push(ref.identifier)
    else byBlueprint.set(ref.blueprint, [ref.identifier])
  }
  if (byBlueprint.size === 0) return '0'
  const groups = [...byBlueprint].map(
    ([blueprint, identifiers]) =>
      `(blueprint = ${bind(blueprint)} AND identifier IN (SELECT value FROM json_each(${bind(JSON.stringify(identifiers))})))`,
  )
  return `(${groups.join(' OR ')})`
}
