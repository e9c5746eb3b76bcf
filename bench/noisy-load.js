// One heavy member's load for the noisy-neighbour bench, in a worker thread: the probe's event loop
// in the main thread then measures the portal, not the load generator's own work. Answers are
// drained, not parsed, as a hostile client would.
import {parentPort, workerData} from 'node:worker_threads'

const {load, parallel, token, url} = workerData
const asMember = (method, path, body) =>
  fetch(url + path, {
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
    method,
  }).then((response) => response.arrayBuffer())

let round = 0
const LOADS = {
  async deletes() {
    const targets = Array.from({length: 100}, (_, i) => `t${round}-${i}`)
    round++
    await asMember('POST', '/v1/blueprints/svc/entities?upsert=true&create_missing_related_entities=true', {
      identifier: `hub${round % 3}`,
      relations: {deps: [...targets, ...Array.from({length: 900}, (_, i) => `e${i}`)]},
    })
    await asMember('POST', '/v1/blueprints/svc/bulk/entities/delete', {entities: targets})
  },
  searches: () =>
    asMember('POST', '/v1/blueprints/svc/entities/search', {
      limit: 1000,
      query: {combinator: 'and', rules: [{operator: '=', property: 'tier', value: 'gold'}]},
    }),
  pattern: () =>
    asMember('POST', '/v1/blueprints/svc/entities?upsert=true', {
      identifier: 'evil',
      properties: {code: 'a'.repeat(5000) + '!'},
    }),
  condition: () => asMember('PATCH', `/v1/blueprints/svc/entities/e${round++ % 10_000}`, {properties: {tier: 'x'}}),
}

let stop = false
parentPort.on('message', () => (stop = true))
const loops = Array.from({length: parallel}, async () => {
  while (!stop) await LOADS[load]().catch(() => undefined)
})
setTimeout(() => parentPort.postMessage('loaded'), 200)
await Promise.all(loops)
parentPort.close()
