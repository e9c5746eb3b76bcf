import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {routes} from '../../src/portal/routes/index.js'
import {startRolesPortal, type Caller, type RolesPortal} from './helpers.js'

/**
 * The trust model as a table: who may call each route (README, "Who may do what"). Every route
 * the portal serves must be listed here, and each principal gets exactly what the table says:
 * 401/403 when it is not listed, anything else (the call may still be a 404 or 422) when it is.
 * Run routes are called on a run the admin started; `run` is that run's own token.
 */
const M = ['admin', 'agent', 'member'] as const
const MODEL: Record<string, readonly string[]> = {
  'POST /v1/auth/access_token': ['anonymous', ...M, 'run', 'otherRun'],
  'GET /healthz': ['anonymous', ...M, 'run', 'otherRun'],
  'GET /readyz': ['anonymous', ...M, 'run', 'otherRun'],
  'GET /v1/idp/credentials': ['admin'],
  'POST /v1/idp/credentials': ['admin'],
  'DELETE /v1/idp/credentials/:client': ['admin'],
  'GET /v1/blueprints': M,
  'POST /v1/blueprints': ['admin'],
  'GET /v1/blueprints/:bp': M,
  'PUT /v1/blueprints/:bp': ['admin'],
  'PATCH /v1/blueprints/:bp': ['admin'],
  'DELETE /v1/blueprints/:bp': ['admin'],
  'GET /v1/blueprints/:bp/entities-count': M,
  'DELETE /v1/blueprints/:bp/all-entities': ['admin'],
  'GET /v1/blueprints/:bp/entities': M,
  'POST /v1/blueprints/:bp/entities': [...M, 'run'],
  'POST /v1/blueprints/:bp/entities/bulk': [...M, 'run'],
  'POST /v1/blueprints/:bp/bulk/entities/delete': M,
  'GET /v1/blueprints/:bp/entities/:id': M,
  'PUT /v1/blueprints/:bp/entities/:id': [...M, 'run'],
  'PATCH /v1/blueprints/:bp/entities/:id': [...M, 'run'],
  'DELETE /v1/blueprints/:bp/entities/:id': M,
  'POST /v1/blueprints/:bp/entities/search': M,
  'POST /v1/entities/search': M,
  'POST /v1/actions/runs/claim-pending': ['admin', 'agent'],
  'PATCH /v1/actions/runs/ack': ['admin', 'agent'],
  'PATCH /v1/actions/runs/release': ['admin', 'agent'],
  'POST /v1/idp/run-tokens': ['admin', 'agent'],
  // A one-time web view sign-in link for the caller itself (idp portal open).
  'POST /v1/idp/web-links': M,
  'GET /v1/actions/runs': M,
  'GET /v1/actions/runs/:run': [...M, 'run'],
  // A member reports only on runs it started; this one is the admin's.
  'PATCH /v1/actions/runs/:run': ['admin', 'agent', 'run'],
  'POST /v1/actions/runs/:run/logs': ['admin', 'agent', 'run'],
  'GET /v1/actions/runs/:run/logs': [...M, 'run'],
  'PATCH /v1/actions/runs/:run/approval': M,
  'GET /v1/actions/runs/:run/approvers': M,
  'GET /v1/actions': M,
  'POST /v1/actions': ['admin'],
  'GET /v1/actions/:id': M,
  'PUT /v1/actions/:id': ['admin'],
  'DELETE /v1/actions/:id': ['admin'],
  'GET /v1/actions/:id/permissions': M,
  'PATCH /v1/actions/:id/permissions': ['admin'],
  'POST /v1/actions/:id/runs': M,
  'PATCH /v1/actions/runs/:run/response': ['admin', 'agent', 'run'],
  'POST /v1/workflows/runs/claim-pending': ['admin', 'agent'],
  'PATCH /v1/workflows/runs/ack': ['admin', 'agent'],
  'GET /v1/kafka-credentials': ['admin', 'agent'],
  'GET /v1/organization': M,
  'PATCH /v1/organization': ['admin', 'agent'],
  // Members get 403 without a filter naming an entity, a run or a record (as on Port).
  'GET /v1/audit-log': ['admin'],
  'GET /v1/idp/agents': M,
}

let portal: RolesPortal
let runId: string
let otherRunId: string
let principals: Record<string, Caller>

beforeAll(async () => {
  portal = await startRolesPortal()
  await portal.asAdmin.call('POST', '/v1/actions', {
    identifier: 'queued',
    invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
    trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
  })
  runId = (await portal.asAdmin.call('POST', '/v1/actions/queued/runs', {properties: {}})).body.run.id
  otherRunId = (await portal.asAdmin.call('POST', '/v1/actions/queued/runs', {properties: {}})).body.run.id
  principals = {
    admin: portal.asAdmin,
    agent: portal.agent,
    anonymous: portal.anonymous,
    member: portal.member,
    otherRun: await portal.runToken(otherRunId),
    run: await portal.runToken(runId),
  }
})
afterAll(() => portal.stop())

it('every route the portal serves declares who may call it, and the model lists it', () => {
  const served = routes(portal.core).map((route) => `${route.method} ${route.pattern}`)
  expect(served.sort()).toEqual(Object.keys(MODEL).sort())
  for (const route of routes(portal.core)) expect(['public', 'member', 'run', 'agent', 'admin']).toContain(route.auth)
})

describe.each(Object.entries(MODEL))('%s', (route, allowed) => {
  it.each(['anonymous', 'member', 'run', 'otherRun', 'agent', 'admin'])('as %s', async (who) => {
    const [method, pattern] = route.split(' ') as [string, string]
    let path = pattern
      .replace(':run', runId)
      .replace(':bp', 'nosuch-bp')
      .replace(':id', 'nosuch')
      .replace(':client', 'nosuch')
    // Entity writes are a run token's only when tied to its run.
    if (pattern.startsWith('/v1/blueprints/:bp/entities') && ['POST', 'PUT', 'PATCH'].includes(method))
      path += `?run_id=${runId}`
    const body = ['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined
    const {status, body: answer} = await principals[who]!.call(method, path, body)
    if (allowed.includes(who)) expect([401, 403], JSON.stringify(answer)).not.toContain(status)
    else {
      expect(status).toBe(who === 'anonymous' ? 401 : 403)
      expect(answer).toMatchObject({ok: false})
    }
  })
})
