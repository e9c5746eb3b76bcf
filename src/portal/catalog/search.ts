import {refKey, type EntitiesQuery, type Rule} from '../../model/port.js'
import {breathe} from '../../shared/breathe.js'
import {PortalError} from '../http/errors.js'
import {type EntityFilter, type EntityRef, type FilterValue, type Store, type StoredEntity} from '../store/store.js'

export type Matcher = (entity: StoredEntity) => boolean

/**
 * A search compiled for the store: `filter` is what the store evaluates; every match satisfies it.
 * Rules the store cannot evaluate exactly (comparisons and date ranges, which follow Date.parse)
 * leave it wider than the query; `exact` is then false and `match` decides on each entity found.
 */
export interface CompiledSearch {
  filter: EntityFilter
  exact: boolean
  match: Matcher
}

const META: Record<string, [field: string, read: (entity: StoredEntity) => unknown]> = {
  $blueprint: ['blueprint', (entity) => entity.blueprint],
  $createdAt: ['createdAt', (entity) => entity.createdAt],
  $createdBy: ['createdBy', (entity) => entity.createdBy],
  $icon: ['icon', (entity) => entity.icon],
  $identifier: ['identifier', (entity) => entity.identifier],
  $team: ['team', (entity) => entity.team ?? []],
  $title: ['title', (entity) => entity.title],
  $updatedAt: ['updatedAt', (entity) => entity.updatedAt],
  $updatedBy: ['updatedBy', (entity) => entity.updatedBy],
}

/**
 * Compiles Port's search query (combinator + rules, nested groups) for the store and into a
 * predicate. `relatedTo` needs the relation graph, so it is resolved against the store first.
 */
export async function compileSearch(query: EntitiesQuery, store: Store, now: Date): Promise<CompiledSearch> {
  const parts = await Promise.all(
    query.rules.map((rule) =>
      'rules' in rule ? compileSearch(rule as EntitiesQuery, store, now) : compileRule(rule as Rule, store, now),
    ),
  )
  const exact = parts.every((part) => part.exact)
  const filters = parts.map((part) => part.filter)
  const matchers = parts.map((part) => part.match)
  // Each part's filter holds for all its matches, so any and all of them hold for the group's.
  if (query.combinator === 'or' && parts.length > 0) {
    return {exact, filter: {any: filters}, match: (entity) => matchers.some((match) => match(entity))}
  }
  return {exact, filter: {all: filters}, match: (entity) => matchers.every((match) => match(entity))}
}

/** A rule the store evaluates exactly, and its predicate. */
const exactly = (filter: EntityFilter, match: Matcher): CompiledSearch => ({exact: true, filter, match})

async function compileRule(rule: Rule, store: Store, now: Date): Promise<CompiledSearch> {
  if (rule.operator === 'relatedTo') return relatedTo(rule, store)
  if (typeof rule.property !== 'string') {
    throw new PortalError(422, 'invalid_request', `Rule with operator "${rule.operator}" needs a "property" string`)
  }
  const {read, value} = reader(rule.property)
  const test = predicate(rule, now)
  const match: Matcher = (entity) => test(read(entity))
  const filter = storeFilter(rule, value)
  return filter ? exactly(filter, match) : {exact: false, filter: {all: []}, match}
}

/** How a rule reads its value, from a parsed entity and in the store. */
function reader(property: string): {read: (entity: StoredEntity) => unknown; value: FilterValue} {
  const meta = Object.hasOwn(META, property) ? META[property] : undefined
  if (meta) return {read: meta[1], value: {field: meta[0]}}
  // Own keys only: `constructor` or `__proto__` must not find what every object inherits.
  const read = (entity: StoredEntity) =>
    Object.hasOwn(entity.properties, property)
      ? entity.properties[property]
      : Object.hasOwn(entity.relations, property)
        ? entity.relations[property]
        : undefined
  return {read, value: {property}}
}

/**
 * The rule as a store filter with the same meaning as `predicate`, or undefined where the store
 * cannot match it exactly (comparisons and date ranges follow Date.parse).
 */
function storeFilter(rule: Rule, value: FilterValue): EntityFilter | undefined {
  const expected = rule.value
  const json = (item: unknown) => JSON.stringify(item)
  // JSON.stringify(undefined) is undefined: no stored value or array item equals a missing value.
  const contains = (item: unknown): EntityFilter =>
    item === undefined
      ? {any: []}
      : {contains: {item: json(item), ...(typeof item === 'string' ? {text: item} : {})}, value}
  switch (rule.operator) {
    case '=':
      return {equals: expected === undefined ? null : json(expected), value}
    case '!=':
      return {not: {equals: expected === undefined ? null : json(expected), value}}
    case 'in':
      return {oneOf: list(rule).map(json), value}
    case 'notIn':
      return {not: {oneOf: list(rule).map(json), value}}
    case 'contains':
      return contains(expected)
    case 'doesNotContains':
      return {not: contains(expected)}
    case 'containsAny':
      return {any: list(rule).map(contains)}
    case 'beginsWith':
      return {startsWith: String(expected), value}
    case 'doesNotBeginsWith':
      return {not: {startsWith: String(expected), value}}
    case 'endsWith':
      return {endsWith: String(expected), value}
    case 'doesNotEndsWith':
      return {not: {endsWith: String(expected), value}}
    case 'isEmpty':
      return {empty: true, value}
    case 'isNotEmpty':
      return {not: {empty: true, value}}
    default:
      return undefined
  }
}

const isEmpty = (value: unknown): boolean =>
  value === undefined ||
  value === null ||
  value === '' ||
  (Array.isArray(value) && value.length === 0) ||
  (typeof value === 'object' && Object.keys(value).length === 0)

const same = (a: unknown, b: unknown): boolean =>
  a === b || (typeof a === 'object' && a !== null && JSON.stringify(a) === JSON.stringify(b))

/** Numbers compare as numbers, date-time strings as instants, other strings lexically. */
function comparable(value: unknown): number | string | undefined {
  if (typeof value === 'number') return value
  if (typeof value !== 'string') return undefined
  const time = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN
  return Number.isNaN(time) ? value : time
}

function list(rule: Rule): unknown[] {
  if (!Array.isArray(rule.value)) {
    throw new PortalError(422, 'invalid_request', `Operator "${rule.operator}" needs an array value`)
  }
  return rule.value
}

function predicate(rule: Rule, now: Date): (value: unknown) => boolean {
  const {value: expected} = rule
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)
  switch (rule.operator) {
    case '=':
      return (value) => same(value, expected)
    case '!=':
      return (value) => !same(value, expected)
    case '>':
    case '>=':
    case '<':
    case '<=': {
      const bound = comparable(expected)
      const op = rule.operator
      return (value) => {
        const actual = comparable(value)
        if (actual === undefined || bound === undefined || typeof actual !== typeof bound) return false
        return op === '>'
          ? actual > bound
          : op === '>='
            ? actual >= bound
            : op === '<'
              ? actual < bound
              : actual <= bound
      }
    }
    case 'in': {
      const options = list(rule)
      return (value) =>
        Array.isArray(value)
          ? value.some((item) => options.some((o) => same(item, o)))
          : options.some((o) => same(value, o))
    }
    case 'notIn': {
      const options = list(rule)
      return (value) =>
        Array.isArray(value)
          ? !value.some((item) => options.some((o) => same(item, o)))
          : !options.some((o) => same(value, o))
    }
    case 'contains':
      return (value) => contains(value, expected)
    case 'doesNotContains':
      return (value) => !contains(value, expected)
    case 'containsAny': {
      const options = list(rule)
      return (value) => options.some((option) => contains(value, option))
    }
    case 'beginsWith':
      return (value) => text(value)?.startsWith(String(expected)) ?? false
    case 'doesNotBeginsWith':
      return (value) => !(text(value)?.startsWith(String(expected)) ?? false)
    case 'endsWith':
      return (value) => text(value)?.endsWith(String(expected)) ?? false
    case 'doesNotEndsWith':
      return (value) => !(text(value)?.endsWith(String(expected)) ?? false)
    case 'isEmpty':
      return isEmpty
    case 'isNotEmpty':
      return (value) => !isEmpty(value)
    case 'between':
    case 'notBetween': {
      const [from, to] = range(expected, now)
      const inside = (value: unknown) => {
        const time = typeof value === 'string' ? Date.parse(value) : Number.NaN
        return !Number.isNaN(time) && time >= from && time <= to
      }
      return rule.operator === 'between' ? inside : (value) => !inside(value)
    }
    case 'isExpired':
      return (value) => typeof value === 'string' && Date.parse(value) <= now.getTime()
    case 'isNotExpired':
      return (value) => typeof value === 'string' && Date.parse(value) > now.getTime()
    default:
      throw new PortalError(422, 'invalid_request', `Unsupported search operator "${rule.operator}"`)
  }
}

function contains(value: unknown, expected: unknown): boolean {
  if (typeof value === 'string') return typeof expected === 'string' && value.includes(expected)
  if (Array.isArray(value)) return value.some((item) => same(item, expected))
  return false
}

const DAY = 86_400_000
const PRESETS: Record<string, (today: number) => [number, number]> = {
  last12Months: (t) => [t - 365 * DAY, t + DAY - 1],
  last2Weeks: (t) => [t - 14 * DAY, t + DAY - 1],
  last3Months: (t) => [t - 91 * DAY, t + DAY - 1],
  last6Months: (t) => [t - 182 * DAY, t + DAY - 1],
  lastDay: (t) => [t - DAY, t + DAY - 1],
  lastMonth: (t) => [t - 30 * DAY, t + DAY - 1],
  lastWeek: (t) => [t - 7 * DAY, t + DAY - 1],
  today: (t) => [t, t + DAY - 1],
  tomorrow: (t) => [t + DAY, t + 2 * DAY - 1],
  yesterday: (t) => [t - DAY, t - 1],
}

function range(value: unknown, now: Date): [number, number] {
  const spec = (value ?? {}) as {from?: string; to?: string; preset?: string}
  if (spec.preset) {
    const preset = PRESETS[spec.preset]
    if (!preset) throw new PortalError(422, 'invalid_request', `Unknown date preset "${spec.preset}"`)
    return preset(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))
  }
  const from = spec.from ? Date.parse(spec.from) : Number.NEGATIVE_INFINITY
  const to = spec.to ? Date.parse(spec.to) : Number.POSITIVE_INFINITY
  if (Number.isNaN(from) || Number.isNaN(to)) {
    throw new PortalError(422, 'invalid_request', 'A between rule needs {from, to} date-times or a {preset}')
  }
  return [from, to]
}

/**
 * Entities connected to the given one through relations, over any number of hops: upstream are
 * those it points at, downstream those pointing at it; both when no direction is given.
 */
async function relatedTo(rule: Rule, store: Store): Promise<CompiledSearch> {
  if (!rule.blueprint) throw new PortalError(422, 'invalid_request', 'A relatedTo rule needs "blueprint"')
  const starts = (Array.isArray(rule.value) ? rule.value : [rule.value]).map(String)
  const found = new Map<string, EntityRef>()
  for (const direction of rule.direction ? [rule.direction] : (['upstream', 'downstream'] as const)) {
    const queue: EntityRef[] = starts.map((identifier) => ({blueprint: rule.blueprint!, identifier}))
    const visited = new Set(queue.map(refKey))
    for (let at = 0; at < queue.length; at++) {
      // A large graph is many small reads: let other requests in between.
      if (at % 500 === 499) await breathe()
      const current = queue[at]!
      const next = direction === 'upstream' ? await store.relatedTo(current) : await store.dependents(current)
      for (const ref of next) {
        const id = refKey(ref)
        if (visited.has(id)) continue
        visited.add(id)
        found.set(id, {blueprint: ref.blueprint, identifier: ref.identifier})
        queue.push({blueprint: ref.blueprint, identifier: ref.identifier})
      }
    }
  }
  const entities = [...found.values()]
  return exactly({entities}, (entity) => found.has(refKey(entity)))
}
