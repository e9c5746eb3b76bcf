import type {EntitiesQuery, Rule} from '../model/port.js'
import {PortalError} from './http.js'
import type {EntityRef, Store, StoredEntity} from './store/store.js'

export type Matcher = (entity: StoredEntity) => boolean

const META: Record<string, (entity: StoredEntity) => unknown> = {
  $blueprint: (entity) => entity.blueprint,
  $createdAt: (entity) => entity.createdAt,
  $createdBy: (entity) => entity.createdBy,
  $icon: (entity) => entity.icon,
  $identifier: (entity) => entity.identifier,
  $team: (entity) => entity.team ?? [],
  $title: (entity) => entity.title,
  $updatedAt: (entity) => entity.updatedAt,
  $updatedBy: (entity) => entity.updatedBy,
}

/**
 * Compiles Port's search query (combinator + rules, nested groups) into a predicate. `relatedTo`
 * needs the relation graph, so it is resolved against the store first.
 */
export async function compileQuery(query: EntitiesQuery, store: Store, now: Date): Promise<Matcher> {
  const matchers = await Promise.all(
    query.rules.map((rule) =>
      'rules' in rule ? compileQuery(rule as EntitiesQuery, store, now) : compileRule(rule as Rule, store, now),
    ),
  )
  if (matchers.length === 0) return () => true
  return query.combinator === 'or'
    ? (entity) => matchers.some((match) => match(entity))
    : (entity) => matchers.every((match) => match(entity))
}

async function compileRule(rule: Rule, store: Store, now: Date): Promise<Matcher> {
  if (rule.operator === 'relatedTo') return relatedTo(rule, store)
  if (typeof rule.property !== 'string') {
    throw new PortalError(422, 'invalid_request', `Rule with operator "${rule.operator}" needs a "property" string`)
  }
  const read = reader(rule.property)
  const test = predicate(rule, now)
  return (entity) => test(read(entity))
}

function reader(property: string): (entity: StoredEntity) => unknown {
  const meta = Object.hasOwn(META, property) ? META[property] : undefined
  if (meta) return meta
  // Own keys only: `constructor` or `__proto__` must not find what every object inherits.
  return (entity) =>
    Object.hasOwn(entity.properties, property)
      ? entity.properties[property]
      : Object.hasOwn(entity.relations, property)
        ? entity.relations[property]
        : undefined
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
async function relatedTo(rule: Rule, store: Store): Promise<Matcher> {
  if (!rule.blueprint) throw new PortalError(422, 'invalid_request', 'A relatedTo rule needs "blueprint"')
  const starts = (Array.isArray(rule.value) ? rule.value : [rule.value]).map(String)
  const found = new Set<string>()
  const key = (ref: EntityRef) => `${ref.blueprint}\u0000${ref.identifier}`
  for (const direction of rule.direction ? [rule.direction] : (['upstream', 'downstream'] as const)) {
    const queue: EntityRef[] = starts.map((identifier) => ({blueprint: rule.blueprint!, identifier}))
    const visited = new Set(queue.map(key))
    while (queue.length > 0) {
      const current = queue.shift()!
      const next = direction === 'upstream' ? await store.relatedTo(current) : await store.dependents(current)
      for (const ref of next) {
        const id = key(ref)
        if (visited.has(id)) continue
        visited.add(id)
        found.add(id)
        queue.push({blueprint: ref.blueprint, identifier: ref.identifier})
      }
    }
  }
  return (entity) => found.has(key(entity))
}

/**
 * An entity as Port's API returns it: its spec allows exactly these fields (the blueprint and
 * audit fields stay in storage, where search rules such as `$updatedAt` use them).
 */
/**
 * An entity as Port answers it: its fields, and also `blueprint` and the audit fields, which Port
 * sends and its clients read (the GitHub Action reads `entity.blueprint`) though the spec's
 * entity schema omits them (README: "Where the portal follows Port's clients").
 */
export function toWire(entity: StoredEntity): Record<string, unknown> {
  const {blueprint, createdAt, createdBy, icon, identifier, properties, relations, team, title, updatedAt, updatedBy} =
    entity
  return {
    identifier,
    ...(title === undefined ? {} : {title}),
    ...(icon === undefined ? {} : {icon}),
    team: team ?? [],
    properties,
    relations,
    blueprint,
    ...(createdAt === undefined ? {} : {createdAt, createdBy, updatedAt, updatedBy}),
  }
}

/** `include`/`exclude` field lists (`identifier`, `properties.foo`) applied to an entity. */
export function project(
  entity: Record<string, unknown>,
  include: string[],
  exclude: string[],
): Record<string, unknown> {
  let result = entity
  if (include.length > 0) {
    const picked: Record<string, unknown> = {}
    for (const path of include) {
      const [head, ...rest] = path.split('.')
      if (!head || !(head in result)) continue
      if (rest.length === 0) picked[head] = result[head]
      else {
        const inner = result[head] as Record<string, unknown> | undefined
        const key = rest.join('.')
        if (inner && key in inner) picked[head] = {...(picked[head] as object), [key]: inner[key]}
      }
    }
    result = picked
  }
  for (const path of exclude) {
    const [head, ...rest] = path.split('.')
    if (!head) continue
    if (rest.length === 0) {
      const {[head]: _removed, ...others} = result
      result = others
    } else if (result[head] && typeof result[head] === 'object') {
      const {[rest.join('.')]: _removed, ...others} = result[head] as Record<string, unknown>
      result = {...result, [head]: others}
    }
  }
  return result
}
