import {afterAll, beforeAll, expect, it} from 'vitest'

import {startTestPortal, type TestPortal} from '../helpers/portal.js'

let portal: TestPortal
beforeAll(async () => {
  portal = await startTestPortal()
})
afterAll(() => portal.stop())

it('answers load balancers without a token: up, and ready while its store answers', async () => {
  expect(await portal.call('GET', '/healthz', undefined, {auth: false})).toEqual({
    body: {ok: true, status: 'up'},
    status: 200,
  })
  expect(await portal.call('GET', '/readyz', undefined, {auth: false})).toEqual({
    body: {ok: true, status: 'ready'},
    status: 200,
  })
})
