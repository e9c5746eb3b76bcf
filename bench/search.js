// Search cost follows the answer, not the blueprint: 50 concurrent searches, each answering 100
// entities, over a blueprint of 1,000 entities and over a large one (run.js: the largest of IDP_BENCH_SIZES, else 10,000; the issue's
// target is over 100,000),
// on both stores; the p99 latency over the large blueprint against the small one's.
// Two searches: a selective one (`group` = g-N, which exactly 100 entities hold at every size)
// and a broad one's first page (`tier` = gold, which every entity holds, limit 100).
// The entities are loaded through POST .../entities/bulk, 20 a request, 4 in flight.
import {Pool} from 'undici'

import {freshDatabase} from './postgres.js'
import {freshPortal, percentile, row} from './lib.js'

const CONCURRENT = 50
const ANSWER = 100
const ROUNDS = 10
const BATCH = 20
const LOAD_IN_FLIGHT = 4

async function load(portal, pool, size) {
  const headers = {authorization: `Bearer ${portal.token}`, 'content-type': 'application/json'}
  await portal.api('POST', '/v1/blueprints', {
    identifier: 'item',
    schema: {properties: {description: {type: 'string'}, group: {type: 'string'}, tier: {type: 'string'}}},
    title: 'Item',
  })
  let next = 0
  const worker = async () => {
    while (next < size) {
      const start = next
      next += BATCH
      const entities = []
      for (let index = start; index < Math.min(size, start + BATCH); index++) {
        const group = `g-${index % (size / ANSWER)}`
        entities.push({identifier: `item-${index}`, properties: {description: 'x'.repeat(600), group, tier: 'gold'}})
      }
      const response = await pool.request({
        body: JSON.stringify({entities}),
        headers,
        method: 'POST',
        path: '/v1/blueprints/item/entities/bulk',
      })
      await response.body.text()
      if (response.statusCode !== 200) throw new Error(`bulk load: HTTP ${response.statusCode}`)
    }
  }
  await Promise.all(Array.from({length: LOAD_IN_FLIGHT}, worker))
}

/** ROUNDS rounds of CONCURRENT searches at once; every search's latency, ms. */
async function latencies(portal, pool, size, query) {
  const headers = {authorization: `Bearer ${portal.token}`, 'content-type': 'application/json'}
  const samples = []
  for (let round = 0; round < ROUNDS + 1; round++) {
    const answered = await Promise.all(
      Array.from({length: CONCURRENT}, async (_, index) => {
        const started = performance.now()
        const response = await pool.request({
          body: JSON.stringify({limit: ANSWER, query: query((round * CONCURRENT + index) % (size / ANSWER))}),
          headers,
          method: 'POST',
          path: '/v1/blueprints/item/entities/search',
        })
        const {entities} = await response.body.json()
        if (entities?.length !== ANSWER) throw new Error(`search answered ${entities?.length} entities`)
        return performance.now() - started
      }),
    )
    // The first round warms up.
    if (round > 0) samples.push(...answered)
  }
  return samples
}

const QUERIES = {
  'selective (group = g-N)': (group) => ({
    combinator: 'and',
    rules: [{operator: '=', property: 'group', value: `g-${group}`}],
  }),
  'first page (tier = gold)': () => ({combinator: 'and', rules: [{operator: '=', property: 'tier', value: 'gold'}]}),
}

async function measure(store, size) {
  const serveArgs = store === 'postgres' ? ['--store', 'postgres', '--database-url', await freshDatabase()] : []
  const portal = await freshPortal({serveArgs})
  const pool = new Pool(portal.url, {connections: CONCURRENT})
  const loadStarted = performance.now()
  await load(portal, pool, size)
  const loadMs = performance.now() - loadStarted
  const p99 = {}
  for (const [name, query] of Object.entries(QUERIES))
    p99[name] = percentile(await latencies(portal, pool, size, query), 99)
  await pool.close()
  await portal.stop()
  return {loadMs, p99}
}

export async function benchSearch(large = 100_000) {
  const results = {}
  for (const store of ['sqlite', 'postgres']) {
    const small = await measure(store, 1000)
    const big = await measure(store, large)
    results[store] = {big, small}
    console.log(
      `\n## Search, ${store}: ${CONCURRENT} concurrent searches of ${ANSWER} entities, ${large} vs 1000 entities (p99 of ${ROUNDS * CONCURRENT})`,
    )
    for (const name of Object.keys(QUERIES)) {
      row(
        `${name}: p99 over ${large} / over 1000`,
        `${big.p99[name].toFixed(0)} ms / ${small.p99[name].toFixed(0)} ms  (${(big.p99[name] / small.p99[name]).toFixed(2)}x, target ≤ 3x)`,
      )
    }
    row(`loading ${large} entities (bulk route, 20 a request)`, `${(big.loadMs / 1000).toFixed(1)} s`)
  }
  return results
}
