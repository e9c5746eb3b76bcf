import pg from 'pg'
import {afterAll, beforeAll, expect, it} from 'vitest'

import {startTestPortal, type TestPortal} from '../helpers/portal.js'

/**
 * PortalCore.write runs a write again, from the start, when the database refuses it for a
 * concurrent write's sake (PostgreSQL's serialization failures and deadlocks); when it keeps
 * refusing, the caller gets a 503 to retry, never a 500.
 */
let portal: TestPortal
const errors: unknown[] = []

beforeAll(async () => {
  portal = await startTestPortal({onError: (error) => errors.push(error)})
  await portal.call('POST', '/v1/blueprints', {identifier: 'svc', schema: {properties: {}}, title: 'Service'})
})
afterAll(() => portal.stop())

/** The error pg raises for a refused transaction, built as its protocol parser builds it. */
function refusal(code: '40001' | '40P01'): pg.DatabaseError {
  const message = code === '40001' ? 'could not serialize access due to concurrent update' : 'deadlock detected'
  const error = new pg.DatabaseError(message, message.length + 40, 'error')
  error.severity = 'ERROR'
  error.code = code
  return error
}

/**
 * The store's next `times` transactions do their work, then fail to commit with `code`, as
 * PostgreSQL refuses a transaction at COMMIT: everything they wrote rolls back.
 */
function refuseCommits(times: number, code: '40001' | '40P01') {
  const {store} = portal
  const commit = store.transaction.bind(store)
  let left = times
  let attempts = 0
  store.transaction = (work) =>
    commit(async () => {
      attempts++
      const value = await work()
      if (left-- > 0) throw refusal(code)
      return value
    })
  return {
    attempts: () => attempts,
    restore: () => {
      store.transaction = commit
    },
  }
}

const auditsOf = async (entity: string) =>
  (await portal.call('GET', `/v1/audit-log?entity=${entity}&blueprint=svc`)).body.audits as unknown[]

it.each(['40001', '40P01'] as const)('a write refused once with %s is run again and lands once', async (code) => {
  const entity = `once-${code}`
  const refused = refuseCommits(1, code)
  try {
    const answer = await portal.call('POST', '/v1/blueprints/svc/entities', {identifier: entity})
    expect(answer.status).toBe(201)
    expect(refused.attempts()).toBe(2)
  } finally {
    refused.restore()
  }
  expect((await portal.call('GET', `/v1/blueprints/svc/entities/${entity}`)).status).toBe(200)
  // The refused attempt's audit record rolled back with it.
  expect(await auditsOf(entity)).toHaveLength(1)
  expect(errors).toEqual([])
})

it('a write refused every time answers 503 with Retry-After, not 500, and leaves nothing behind', async () => {
  const token = await portal.token()
  const refused = refuseCommits(Number.POSITIVE_INFINITY, '40001')
  let answer: Response
  try {
    answer = await fetch(`${portal.url}/v1/blueprints/svc/entities`, {
      body: JSON.stringify({identifier: 'never'}),
      headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
      method: 'POST',
    })
    expect(refused.attempts()).toBe(5)
  } finally {
    refused.restore()
  }
  expect(answer.status).toBe(503)
  expect(answer.headers.get('retry-after')).toBe('1')
  const body = (await answer.json()) as {error: string; message: string; ok: boolean}
  expect(body).toMatchObject({error: 'write_conflict', ok: false})
  expect(body.message).toMatch(/refused this write 5 times .*try it again/)
  expect((await portal.call('GET', '/v1/blueprints/svc/entities/never')).status).toBe(404)
  expect(await auditsOf('never')).toEqual([])
  expect(errors).toEqual([])
})
