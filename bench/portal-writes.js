// The portal's write path on both stores, each against its own floor measured in the same run:
// node:http plus the store's driver doing the same durable work (write-floor-server.js: the entity
// row and an audit row with the before/after JSON, one transaction a request).
// - one entity a request: 1,000 POSTs creating entities, then 1,000 PUTs replacing them, 8 in flight;
// - bulk: 10,000 entities through POST .../entities/bulk, 20 a request, 4 in flight.
// PostgreSQL runs on the bench's own cluster with fsync on (postgres.js).
// IDP_BENCH_PROF=DIR writes the portal's CPU profiles there (node --cpu-prof, see lib.js).
import {Pool} from 'undici'

import {freshDatabase} from './postgres.js'
import {freshPortal, median, row, startServer, temp} from './lib.js'

const SINGLE = 1000
const SINGLE_IN_FLIGHT = 8
const BULK = 10_000
const BATCH = 20
const BULK_IN_FLIGHT = 4

const entity = (index, version = 0) => ({
  identifier: `svc-${index}`,
  properties: {description: 'x'.repeat(800), language: 'typescript', replicas: (index + version) % 10, tier: 'gold'},
  relations: {},
  title: `Service ${index}`,
})

/** The requests of one workload, each {method, path, body}; paths are relative to `base`. */
function workloads() {
  const single = []
  for (let index = 0; index < SINGLE; index++) single.push({body: entity(index), method: 'POST', path: ''})
  for (let index = 0; index < SINGLE; index++)
    single.push({body: entity(index, 1), method: 'PUT', path: `/svc-${index}`})
  const bulk = []
  for (let start = 0; start < BULK; start += BATCH) {
    const entities = []
    for (let index = start; index < start + BATCH; index++) entities.push(entity(index))
    bulk.push({body: {entities}, method: 'POST', path: '/bulk'})
  }
  const text = (requests) => requests.map((request) => ({...request, body: JSON.stringify(request.body)}))
  return {bulk: text(bulk), single: text(single)}
}

/** Sends `requests` in order, `inFlight` at a time; the ms it took. */
async function send(url, base, requests, inFlight, headers = {}) {
  const pool = new Pool(url, {connections: inFlight})
  const started = performance.now()
  let next = 0
  const worker = async () => {
    while (next < requests.length) {
      const {body, method, path} = requests[next++]
      const response = await pool.request({
        body,
        headers: {'content-type': 'application/json', ...headers},
        method,
        path: base + path,
      })
      const text = await response.body.text()
      if (response.statusCode >= 300) throw new Error(`${method} ${base + path}: HTTP ${response.statusCode} ${text}`)
    }
  }
  await Promise.all(Array.from({length: inFlight}, worker))
  const ms = performance.now() - started
  await pool.close()
  return ms
}

const serveArgs = async (store) =>
  store === 'postgres' ? ['--store', 'postgres', '--database-url', await freshDatabase()] : []

async function portalRun(store, requests, inFlight) {
  const portal = await freshPortal({serveArgs: await serveArgs(store)})
  await portal.api('POST', '/v1/blueprints', {
    identifier: 'service',
    schema: {
      properties: {
        description: {type: 'string'},
        language: {type: 'string'},
        replicas: {type: 'number'},
        tier: {enum: ['gold', 'silver'], type: 'string'},
      },
    },
    title: 'Service',
  })
  const headers = {authorization: `Bearer ${portal.token}`}
  // Bulk upserts, as `idp catalog sync` sends them.
  const bulk = requests.map((request) => (request.path === '/bulk' ? {...request, path: '/bulk?upsert=true'} : request))
  const ms = await send(portal.url, '/v1/blueprints/service/entities', bulk, inFlight, headers)
  await portal.stop()
  return ms
}

async function floorRun(store, requests, inFlight) {
  const script = new URL('./write-floor-server.js', import.meta.url).pathname
  const where = store === 'postgres' ? await freshDatabase() : temp('idp-bench-floor-')
  const {child, ready} = await startServer([script, store, where])
  const ms = await send(ready.url, '/entities', requests, inFlight)
  child.kill('SIGTERM')
  return ms
}

export async function benchPortalWrites(rounds = 3, stores = ['sqlite', 'postgres']) {
  const {bulk, single} = workloads()
  const results = {}
  for (const store of stores) {
    for (const [name, requests, inFlight, count] of [
      ['single', single, SINGLE_IN_FLIGHT, 2 * SINGLE],
      ['bulk', bulk, BULK_IN_FLIGHT, BULK],
    ]) {
      const portal = []
      const floor = []
      for (let round = 0; round < rounds; round++) {
        floor.push(await floorRun(store, requests, inFlight))
        portal.push(await portalRun(store, requests, inFlight))
      }
      const result = {count, floor: median(floor), portal: median(portal)}
      results[`${store}-${name}`] = result
      console.log(
        name === 'single'
          ? `\n## Portal write path, ${store}: ${SINGLE} POSTs then ${SINGLE} PUTs of one entity, ${inFlight} in flight (median of ${rounds})`
          : `\n## Portal write path, ${store}: ${BULK} entities, bulk ${BATCH}/request, ${inFlight} in flight (median of ${rounds})`,
      )
      row(
        `floor: node:http + ${store} entity and audit rows, one transaction a request`,
        `${result.floor.toFixed(0)} ms`,
      )
      row(
        'idp portal (auth, ajv validation, upsert, relation index, audit)',
        `${result.portal.toFixed(0)} ms  (${(result.portal / result.floor).toFixed(2)}x floor${name === 'single' ? ', target ≤ 2.0x' : ''})`,
      )
      row('portal throughput', `${Math.round(count / (result.portal / 1000))} entities/s`)
    }
  }
  return results
}
