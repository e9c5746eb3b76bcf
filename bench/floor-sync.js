// Floors for the catalog benchmark, with no idp logic: `full` reads and parses every file and
// POSTs the entities in bulk (20 a request, 4 in flight, blueprints in the given order);
// `resync` reads and parses every file and fetches the portal's entities with paged search.
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {Pool} from 'undici'

const [mode, dir, url, order] = process.argv.slice(2)
const headers = {authorization: `Bearer ${process.env.IDP_BENCH_TOKEN}`, 'content-type': 'application/json'}
const byBlueprint = new Map()
const root = join(dir, 'entities')
for (const blueprint of readdirSync(root)) {
  byBlueprint.set(
    blueprint,
    readdirSync(join(root, blueprint)).map((file) => JSON.parse(readFileSync(join(root, blueprint, file), 'utf8'))),
  )
}
const pool = new Pool(url, {connections: 4})
const call = async (method, path, body) => {
  const response = await pool.request({body: JSON.stringify(body), headers, method, path})
  const text = await response.body.text()
  if (response.statusCode >= 300) throw new Error(`${path}: ${response.statusCode} ${text.slice(0, 200)}`)
  return JSON.parse(text)
}
if (mode === 'full') {
  for (const blueprint of order.split(',')) {
    const entities = byBlueprint.get(blueprint)
    const batches = []
    for (let start = 0; start < entities.length; start += 20) batches.push(entities.slice(start, start + 20))
    let next = 0
    const worker = async () => {
      while (next < batches.length)
        await call('POST', `/v1/blueprints/${blueprint}/entities/bulk?upsert=true&merge=true`, {
          entities: batches[next++],
        })
    }
    await Promise.all([worker(), worker(), worker(), worker()])
  }
} else {
  await Promise.all(
    [...byBlueprint.keys()].map(async (blueprint) => {
      let from
      do {
        const page = await call('POST', `/v1/blueprints/${blueprint}/entities/search`, {
          limit: 1000,
          query: {combinator: 'and', rules: []},
          ...(from ? {from} : {}),
        })
        from = page.next
      } while (from)
    }),
  )
}
await pool.close()
