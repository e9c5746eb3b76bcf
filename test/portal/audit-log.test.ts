import {afterAll, beforeAll, expect, it} from 'vitest'

import {startRolesPortal, type RolesPortal} from '../security/helpers.js'

/**
 * `GET /v1/audit-log`: what changed, who changed it, and for which run (Port's GitHub Action ties
 * entity writes to a run with `run_id`). Admins read everything; members name an entity, a run
 * or a record, and see only entities that still exist and runs they may see.
 */
let portal: RolesPortal
let runId: string

beforeAll(async () => {
  portal = await startRolesPortal()
  const admin = portal.asAdmin
  await admin.call('POST', '/v1/blueprints', {
    identifier: 'svc',
    schema: {properties: {tier: {type: 'string'}}},
    title: 'Service',
  })
  await admin.call('POST', '/v1/actions', {
    identifier: 'deploy',
    invocationMethod: {type: 'KAFKA'},
    trigger: {blueprintIdentifier: 'svc', operation: 'DAY-2', type: 'self-service', userInputs: {properties: {}}},
  })
  await admin.call('POST', '/v1/blueprints/svc/entities', {identifier: 'cart', properties: {tier: 'gold'}})
  runId = (await admin.call('POST', '/v1/actions/deploy/runs', {entity: 'cart', properties: {}})).body.run.id
  await admin.call('POST', `/v1/blueprints/svc/entities?upsert=true&merge=true&run_id=${runId}`, {
    identifier: 'cart',
    properties: {tier: 'silver'},
  })
  await admin.call('POST', '/v1/blueprints/svc/entities', {identifier: 'gone'})
  await admin.call('DELETE', `/v1/blueprints/svc/entities/gone?run_id=${runId}`)
})
afterAll(() => portal.stop())

const audits = async (query: string, as = portal.asAdmin) => {
  const answer = await as.call('GET', `/v1/audit-log?${query}`)
  return {audits: answer.body.audits as any[], status: answer.status, body: answer.body}
}

it('records entity changes newest first, with who, when and the diff', async () => {
  const {audits: cart, status} = await audits('entity=cart&blueprint=svc&resources=entity')
  expect(status).toBe(200)
  expect(cart.map((record) => record.action)).toEqual(['UPDATE', 'CREATE'])
  expect(cart[0]).toMatchObject({
    context: {blueprint: 'svc', entity: 'cart', runId},
    diff: {after: {properties: {tier: 'silver'}}, before: {properties: {tier: 'gold'}}},
    resourceType: 'entity',
    status: 'SUCCESS',
    trigger: {by: {orgId: 'org_idp', userId: portal.admin.clientId}, origin: 'API'},
  })
  expect(cart[1].context.runId).toBeUndefined()
})

it('ties entity writes and deletes to the run named by run_id, beside the run itself', async () => {
  const {audits: tied} = await audits(`run_id=${runId}`)
  const seen = tied.map((record) => `${record.resourceType} ${record.action} ${record.context.entity ?? ''}`)
  expect(seen.filter((line) => line.startsWith('entity'))).toEqual(['entity DELETE gone', 'entity UPDATE cart'])
  expect(seen.at(-1)).toBe('run CREATE cart')
})

it('records blueprint and action changes, and filters by resource, action, time, limit and fields', async () => {
  expect((await audits('resources=blueprint')).audits).toMatchObject([{action: 'CREATE', context: {blueprint: 'svc'}}])
  expect((await audits('resources=action')).audits).toMatchObject([{context: {action: 'deploy'}}])
  expect((await audits('action=DELETE')).audits).toHaveLength(1)
  expect((await audits('limit=2')).audits).toHaveLength(2)
  expect((await audits(`from=${new Date(Date.now() + 60_000).toISOString()}`)).audits).toEqual([])
  const [record] = (await audits('entity=cart&includes=action&includes=identifier&limit=1')).audits
  expect(Object.keys(record).sort()).toEqual(['action', 'identifier'])
  const one = await audits(`identifier=${record.identifier}`)
  expect(one.audits).toHaveLength(1)
})

it('answers 422 for malformed filters', async () => {
  for (const query of ['limit=0', 'limit=x', 'action=MOVE', 'from=yesterday', 'resources=nope', 'includes=nope']) {
    const answer = await audits(query)
    expect(answer.status, query).toBe(422)
    expect(answer.body.message).toContain('Query parameter')
  }
})

it('members must name an entity, a run or a record, and do not see deleted entities', async () => {
  const whole = await audits('', portal.member)
  expect(whole.status).toBe(403)
  expect((await audits('entity=cart', portal.member)).audits.length).toBeGreaterThan(0)
  expect((await audits('entity=gone', portal.member)).audits).toEqual([])
  // Runs are visible to members by default (allowAnyoneToViewRuns), so the run's own records are.
  const tied = (await audits(`run_id=${runId}`, portal.member)).audits
  expect(tied.filter((record) => record.resourceType === 'entity').map((record) => record.context.entity)).toEqual([
    'cart',
  ])
  expect(tied.at(-1)).toMatchObject({action: 'CREATE', resourceType: 'run'})
})
