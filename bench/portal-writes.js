// The portal's write path: 10,000 ~1 KB entities through POST .../entities/bulk (20 a request,
// 4 in flight), against a floor measured in the same run: a bare node:http server that parses
// the same requests and inserts the rows into SQLite (WAL, rowid table, one transaction a request).
// IDP_BENCH_PROF=DIR writes the portal's CPU profiles there (node --cpu-prof, see lib.js).
import {Pool} from 'undici'

import {freshPortal, median, row, startServer, temp} from './lib.js'

const ENTITIES = 10_000
const BATCH = 20
const IN_FLIGHT = 4

function payloads() {
  const batches = []
  for (let start = 0; start < ENTITIES; start += BATCH) {
    const entities = []
    for (let index = start; index < start + BATCH; index++) {
      entities.push({
        identifier: `svc-${index}`,
        properties: {description: 'x'.repeat(800), language: 'typescript', replicas: index % 10, tier: 'gold'},
        relations: {},
        title: `Service ${index}`,
      })
    }
    batches.push(JSON.stringify({entities}))
  }
  return batches
}

async function upload(url, path, batches, headers) {
  const pool = new Pool(url, {connections: IN_FLIGHT})
  const started = performance.now()
  let next = 0
  const worker = async () => {
    while (next < batches.length) {
      const body = batches[next++]
      const response = await pool.request({
        body,
        headers: {'content-type': 'application/json', ...headers},
        method: 'POST',
        path,
      })
      await response.body.text()
      if (response.statusCode >= 300) throw new Error(`HTTP ${response.statusCode}`)
    }
  }
  await Promise.all(Array.from({length: IN_FLIGHT}, worker))
  const ms = performance.now() - started
  await pool.close()
  return ms
}

async function portalRun(batches) {
  const portal = await freshPortal()
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
  const ms = await upload(portal.url, '/v1/blueprints/service/entities/bulk?upsert=true', batches, headers)
  portal.stop()
  return ms
}

async function floorRun(batches) {
  const script = new URL('./sqlite-floor-server.js', import.meta.url).pathname
  const {child, ready} = await startServer([script, temp('idp-bench-floor-')])
  const ms = await upload(ready.url, '/bulk', batches, {})
  child.kill('SIGTERM')
  return ms
}

export async function benchPortalWrites(rounds = 3) {
  const batches = payloads()
  const portal = []
  const floor = []
  for (let round = 0; round < rounds; round++) {
    floor.push(await floorRun(batches))
    portal.push(await portalRun(batches))
  }
  const result = {floor: median(floor), portal: median(portal)}
  console.log(
    `\n## Portal write path: ${ENTITIES} entities, bulk ${BATCH}/request, ${IN_FLIGHT} in flight (median of ${rounds})`,
  )
  row('floor: node:http + SQLite insert, no validation', `${result.floor.toFixed(0)} ms`)
  row(
    'idp portal (auth, ajv validation, upsert, relation index)',
    `${result.portal.toFixed(0)} ms  (${(result.portal / result.floor).toFixed(2)}x floor)`,
  )
  row('portal throughput', `${Math.round(ENTITIES / (result.portal / 1000))} entities/s`)
  return result
}
