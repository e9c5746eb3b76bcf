import {describe, expect, it} from 'vitest'

import type {EntitiesQuery, Rule} from '../../src/model/port.js'
import {compileSearch} from '../../src/portal/catalog/search.js'
import {EVERY, searchPages} from '../../src/portal/catalog/paging.js'
import {toWire} from '../../src/portal/catalog/wire.js'
import type {Store, StoredEntity} from '../../src/portal/store/store.js'

/**
 * Searches evaluated by the store mean exactly what Port's rules mean: for random entities and
 * random queries, the store's filter finds the entities the rules' predicate accepts (all of them
 * and no others when the filter is exact; at least them otherwise). Part of the store contract.
 */
export function searchContract(name: string, open: () => Promise<Store>) {
  describe(`${name}: searches in the store`, () => {
    it('finds what the rules mean, for every operator and any JSON value', async () => {
      const random = seeded(11)
      const store = await open()
      const entities = Array.from({length: 120}, (_, index) => randomEntity(random, index))
      await store.transaction(async () => {
        for (const entity of entities) await store.putEntity(entity, {deps: 'svc', owner: 'svc'})
      })
      const now = new Date('2026-06-01T00:00:00Z')
      let exactQueries = 0
      for (let round = 0; round < 400; round++) {
        const query = randomQuery(random, 2)
        const search = await compileSearch(query, store, now)
        const expected = entities.filter((entity) => search.match(entity)).map((entity) => entity.identifier)
        const filtered = await store.searchEntities({blueprint: 'svc', filter: search.filter, limit: 1000})
        const found = filtered.map((row) => (JSON.parse(row.json) as StoredEntity).identifier)
        if (search.exact) {
          exactQueries++
          expect(found, JSON.stringify(query)).toEqual(expected)
        } else expect(found, JSON.stringify(query)).toEqual(expect.arrayContaining(expected))
        const paged: string[] = []
        for await (const page of searchPages(store, search, {blueprint: 'svc', page: 7})) {
          paged.push(...page.map((row) => (JSON.parse(row.json) as StoredEntity).identifier))
        }
        expect(paged, JSON.stringify(query)).toEqual(expected)
      }
      expect(exactQueries).toBeGreaterThan(200)
      await store.close()
    })

    it('keeps entities in their wire form, so answers can embed the stored text', async () => {
      const store = await open()
      const entity = randomEntity(seeded(3), 0)
      await store.transaction(() => store.putEntity(entity, {}))
      const [row] = await store.searchEntities({filter: EVERY.filter, limit: 10})
      expect(JSON.parse(row!.json)).toStrictEqual(toWire(entity))
      expect(row!.blueprint).toBe('svc')
      await store.close()
    })
  })
}

/** Values that tell JSON types and texts apart: case, escapes, numbers' forms, empties, nesting. */
const VALUES: unknown[] = [
  'gold',
  'Gold',
  'go',
  '',
  'old',
  'café "q"',
  'a\\b',
  "it's",
  '2024-01-01',
  '1',
  'true',
  0,
  1,
  -1,
  1.5,
  1e21,
  true,
  false,
  null,
  [],
  {},
  ['gold', 'x'],
  [1, true],
  ['Gold'],
  [''],
  {a: 1},
  {a: [1]},
  [{a: 1}],
  [[1]],
]
const KEYS = ['tier', 'a"b', 'x.y', "it's", 'n', 'constructor']
const OPERATORS = [
  '=',
  '!=',
  'in',
  'notIn',
  'contains',
  'doesNotContains',
  'containsAny',
  'beginsWith',
  'doesNotBeginsWith',
  'endsWith',
  'doesNotEndsWith',
  'isEmpty',
  'isNotEmpty',
  '>',
  '<=',
  'between',
  'isExpired',
]
const META = ['$identifier', '$title', '$team', '$blueprint', '$icon']

type Random = () => number
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!

function randomEntity(random: Random, index: number): StoredEntity {
  const properties: Record<string, unknown> = {}
  for (const key of KEYS) if (random() < 0.6 && key !== 'constructor') properties[key] = pick(random, VALUES)
  const relations: StoredEntity['relations'] = {}
  if (random() < 0.5) relations.deps = ['e1', 'e2', `e${index}`].slice(0, 1 + Math.floor(random() * 3))
  if (random() < 0.5) relations.owner = pick(random, ['e1', 'gold', 'Gold'])
  // A relation named like a property: rules read the property when the entity has one.
  if (random() < 0.3) relations.tier = 'gold'
  return {
    blueprint: 'svc',
    identifier: `e${index}`,
    properties,
    relations,
    team: random() < 0.5 ? [] : [pick(random, ['gold', 'payments'])],
    ...(random() < 0.7 ? {title: pick(random, ['Gold', 'gold service', 'e1'])} : {}),
    ...(random() < 0.3 ? {icon: 'Service'} : {}),
  }
}

function randomQuery(random: Random, depth: number): EntitiesQuery {
  const rules = Array.from({length: Math.floor(random() * 4)}, () =>
    depth > 0 && random() < 0.25 ? randomQuery(random, depth - 1) : randomRule(random),
  )
  return {combinator: random() < 0.5 ? 'and' : 'or', rules} as EntitiesQuery
}

function randomRule(random: Random): Rule {
  const operator = pick(random, OPERATORS)
  const property = random() < 0.2 ? pick(random, META) : pick(random, [...KEYS, 'deps', 'owner'])
  const list = () => Array.from({length: Math.floor(random() * 3)}, () => pick(random, VALUES))
  const value =
    operator === 'in' || operator === 'notIn' || operator === 'containsAny'
      ? list()
      : operator === 'between'
        ? {from: '2023-01-01T00:00:00Z', to: '2025-01-01T00:00:00Z'}
        : random() < 0.05
          ? undefined
          : pick(random, VALUES)
  return {operator, property, ...(value === undefined ? {} : {value})} as Rule
}

/** A small deterministic generator (mulberry32), so that a failure can be replayed. */
function seeded(seed: number): Random {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
