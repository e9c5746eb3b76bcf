import {createHash} from 'node:crypto'
import {connect} from 'node:net'

import {expect, it} from 'vitest'

import {servePortal} from '../helpers/e2e.js'
import {accessToken, request, until} from '../helpers/http.js'

const sha = (text: string) => createHash('sha256').update(text).digest('hex')

it('killing the portal (SIGKILL) during writes loses no acknowledged write and leaves no half-written batch', async () => {
  const first = await servePortal()
  const {clientId, clientSecret} = first.credentials()
  const connect = async (url: string) => {
    const token = await accessToken(url, {clientId, clientSecret})
    return (method: string, path: string, body?: unknown) => request(url, method, path, {body, token})
  }
  const call = await connect(first.url)
  await call('POST', '/v1/blueprints', {identifier: 'Batch', schema: {properties: {}}, title: 'Batch'})
  const item = await call('POST', '/v1/blueprints', {
    identifier: 'Item',
    relations: {batch: {many: false, required: true, target: 'Batch'}},
    schema: {properties: {checksum: {type: 'string'}, payload: {type: 'string'}}, required: ['payload', 'checksum']},
    title: 'Item',
  })
  expect(item.status).toBe(201)

  // Writers: each request creates one Batch entity then 20 Items in one bulk request.
  const acknowledged: string[] = []
  let stop = false
  const writer = async (worker: number) => {
    for (let round = 0; !stop; round++) {
      const batch = `w${worker}-r${round}`
      try {
        const made = await call('POST', '/v1/blueprints/Batch/entities', {identifier: batch})
        if (made.status !== 201) continue
        const items = Array.from({length: 20}, (_, index) => {
          const payload = `${batch}-${index}-`.repeat(40)
          return {identifier: `${batch}-${index}`, properties: {checksum: sha(payload), payload}, relations: {batch}}
        })
        const response = await call('POST', '/v1/blueprints/Item/entities/bulk', {entities: items})
        if (response.status === 200) acknowledged.push(batch)
      } catch {
        return // the portal is gone
      }
    }
  }
  const writers = [0, 1, 2, 3].map(writer)
  await until(() => (acknowledged.length >= 12 ? true : undefined), 15_000)
  await first.kill()
  stop = true
  await Promise.all(writers)

  const second = await servePortal({configDir: first.configDir, dataDir: first.dataDir})
  const again = await connect(second.url)
  const items = (await again('GET', '/v1/blueprints/Item/entities')).body.entities as any[]
  const batches = new Map<string, number>()
  for (const item of items) {
    expect(item.properties.checksum).toBe(sha(item.properties.payload))
    batches.set(item.relations.batch, (batches.get(item.relations.batch) ?? 0) + 1)
  }
  for (const batch of acknowledged) expect(batches.get(batch), batch).toBe(20)
  for (const [batch, count] of batches) expect(count, `batch ${batch} is all or nothing`).toBe(20)
  expect(await second.stop()).toBe(0)
})

it('a second Ctrl-C stops the portal at once (130) while the first waits for a request in flight', async () => {
  const portal = await servePortal()
  // A request whose headers never end: stopping waits for it (up to 10 s).
  const {port} = new URL(portal.url)
  const socket = connect(Number(port), '127.0.0.1')
  socket.on('error', () => {})
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write('GET /healthz HTTP/1.1\r\nHost: portal\r\n')
  const exited = portal.stop('SIGINT')
  // Stopping has begun once the portal accepts no new connection.
  await until(
    () =>
      request(portal.url, 'GET', '/healthz').then(
        () => undefined,
        () => true,
      ),
    10_000,
  )
  void portal.stop('SIGINT')
  expect(await exited).toBe(130)
  socket.destroy()
})
