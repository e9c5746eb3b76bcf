import {afterAll, beforeAll, expect, it} from 'vitest'

import {startTestPortal, type TestPortal} from '../helpers/portal.js'

let portal: TestPortal
let member: string

beforeAll(async () => {
  portal = await startTestPortal()
  await portal.store.transaction(() =>
    portal.store.createCredential({
      clientId: 'dev-1',
      clientSecret: 'member-secret',
      createdAt: new Date().toISOString(),
      email: 'dev@example.com',
      role: 'member',
      teams: ['payments'],
    }),
  )
  const response = await fetch(`${portal.url}/v1/auth/access_token`, {
    body: JSON.stringify({clientId: 'dev-1', clientSecret: 'member-secret'}),
    headers: {'content-type': 'application/json'},
    method: 'POST',
  })
  member = ((await response.json()) as {accessToken: string}).accessToken
  await portal.call('POST', '/v1/blueprints', {identifier: 'svc', schema: {properties: {}}, title: 'Service'})
  await portal.call('POST', '/v1/actions', {
    identifier: 'ping',
    invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
    trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
  })
})
afterAll(() => portal.stop())

const asMember = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(portal.url + path, {
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: {authorization: `Bearer ${member}`, 'content-type': 'application/json'},
    method,
  })
  return {body: (await response.json()) as any, status: response.status}
}

it('members read the catalog, write entities and run actions', async () => {
  expect((await asMember('GET', '/v1/blueprints')).status).toBe(200)
  expect((await asMember('POST', '/v1/blueprints/svc/entities', {identifier: 'a'})).status).toBe(201)
  const run = await asMember('POST', '/v1/actions/ping/runs', {properties: {}})
  expect(run.status).toBe(202)
  expect(run.body.run.createdBy).toBe('dev-1')
})

it('members cannot change blueprints or actions (403 in Port’s envelope), and nothing changes', async () => {
  for (const [method, path, body] of [
    ['POST', '/v1/blueprints', {identifier: 'x', schema: {properties: {}}, title: 'X'}],
    ['PATCH', '/v1/blueprints/svc', {title: 'Changed'}],
    ['DELETE', '/v1/blueprints/svc'],
    [
      'POST',
      '/v1/actions',
      {
        identifier: 'y',
        invocationMethod: {type: 'WEBHOOK', url: 'x'},
        trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
      },
    ],
    ['DELETE', '/v1/actions/ping'],
  ] as const) {
    const response = await asMember(method, path, body)
    expect(response.status, `${method} ${path}`).toBe(403)
    expect(response.body).toMatchObject({
      error: 'forbidden',
      message: expect.stringContaining('member credential'),
      ok: false,
    })
  }
  expect((await portal.call('GET', '/v1/blueprints/svc')).body.blueprint.title).toBe('Service')
  expect((await portal.call('GET', '/v1/actions/ping')).status).toBe(200)
})
