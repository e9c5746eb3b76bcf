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

it('CREATE_RUN, PATCH_RUN and DELETE in the shapes the action sends, tied together by run_id', async () => {
  await portal.call('POST', '/v1/actions', {
    identifier: 'deploy',
    invocationMethod: {type: 'KAFKA'},
    trigger: {
      blueprintIdentifier: 'svc',
      operation: 'DAY-2',
      type: 'self-service',
      userInputs: {properties: {version: {type: 'string'}}},
    },
  })
  // CREATE_RUN passes whatever the workflow gives, inputs the action does not declare included.
  const created = await portal.call('POST', '/v1/actions/deploy/runs', {
    entity: 'cart',
    properties: {from_workflow: 'ci', version: '1.2'},
  })
  expect(created.status).toBe(202)
  const runId = created.body.run.id
  expect(created.body.run.properties).toEqual({from_workflow: 'ci', version: '1.2'})
  // PATCH_RUN: a log line, then the status with runId also in the query.
  expect((await portal.call('POST', `/v1/actions/runs/${runId}/logs`, {message: 'Deploying 1.2'})).status).toBe(201)
  const patched = await portal.call('PATCH', `/v1/actions/runs/${runId}?runId=${runId}`, {
    externalRunId: 'gh-42',
    link: ['https://github.com/acme/deploy/actions/runs/42'],
    status: 'SUCCESS',
    summary: 'Deployed 1.2',
  })
  expect(patched.body.run).toMatchObject({externalRunId: 'gh-42', status: 'SUCCESS', summary: 'Deployed 1.2'})
  // UPSERT and DELETE with run_id (DELETE also sends delete_dependents=false).
  await portal.call('POST', `/v1/blueprints/svc/entities?upsert=true&merge=true&run_id=${runId}`, {
    identifier: 'temp',
    properties: {},
  })
  expect(
    (await portal.call('DELETE', `/v1/blueprints/svc/entities/temp?delete_dependents=false&run_id=${runId}`)).status,
  ).toBe(200)
  const audits = (await portal.call('GET', `/v1/audit-log?run_id=${runId}&resources=entity`)).body.audits
  expect(audits.map((record: {action: string}) => record.action)).toEqual(['DELETE', 'CREATE'])
})

it("PATCH_RUN of a run that already ended SUCCESS is 422, as the action's own suite asserts on Port", async () => {
  await portal.call('POST', '/v1/actions', {
    identifier: 'gh-action-test',
    invocationMethod: {type: 'KAFKA'},
    trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
  })
  // The suite's set-up: createRun, then patchRun {status: SUCCESS}.
  const {run} = (await portal.call('POST', '/v1/actions/gh-action-test/runs', {properties: {}})).body
  expect(run.status).toBe('IN_PROGRESS')
  expect((await portal.call('PATCH', `/v1/actions/runs/${run.id}`, {status: 'SUCCESS'})).status).toBe(200)
  // "Should fail to update run - run already completed": the same PATCH again.
  const again = await portal.call('PATCH', `/v1/actions/runs/${run.id}`, {status: 'SUCCESS'})
  expect(again.status).toBe(422)
  expect(again.body).toMatchObject({error: 'run_terminated', ok: false})
  // PATCH_RUN with only a logMessage posts a log line, which is still taken after the end.
  expect((await portal.call('POST', `/v1/actions/runs/${run.id}/logs`, {message: 'Test message'})).status).toBe(201)
})

it('UPSERT naming a relation the blueprint lacks is 404, as on Port', async () => {
  const answer = await portal.call('POST', '/v1/blueprints/svc/entities?upsert=true&merge=true', {
    identifier: 'cart',
    relations: {nope: 'x'},
  })
  expect(answer.status).toBe(404)
  expect(answer.body).toMatchObject({error: 'relation_not_found', ok: false})
})
