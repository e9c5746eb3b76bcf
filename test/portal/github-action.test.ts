import {afterAll, beforeAll, expect, it} from 'vitest'

import {startTestPortal, type TestPortal} from '../helpers/portal.js'

/** What Port's GitHub Action (port-labs/port-github-action) sends and reads, in its shape. */
let portal: TestPortal

beforeAll(async () => {
  portal = await startTestPortal()
  await portal.call('POST', '/v1/blueprints', {identifier: 'svc', schema: {properties: {}}, title: 'Service'})
})
afterAll(() => portal.stop())

it('UPSERT, GET and SEARCH answer entities with their blueprint and audit fields', async () => {
  const upserted = await portal.call('POST', '/v1/blueprints/svc/entities?upsert=true&merge=true', {
    identifier: 'cart',
    title: 'Cart',
  })
  expect(upserted.body.entity).toMatchObject({
    blueprint: 'svc',
    createdAt: expect.any(String),
    createdBy: portal.admin.clientId,
    identifier: 'cart',
    updatedAt: expect.any(String),
    updatedBy: portal.admin.clientId,
  })
  expect((await portal.call('GET', '/v1/blueprints/svc/entities/cart')).body.entity.blueprint).toBe('svc')
  const found = await portal.call('POST', '/v1/entities/search', {
    combinator: 'and',
    rules: [{operator: '=', property: '$identifier', value: 'cart'}],
  })
  expect(found.body.entities).toMatchObject([{blueprint: 'svc', identifier: 'cart'}])
})
