import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {decryptSecret} from '../../src/domain/secret-inputs.js'
import {checkResponse, hasSpec} from '../helpers/openapi.js'
import {until} from '../helpers/http.js'
import {startTestPortal, type TestPortal} from '../helpers/portal.js'

let portal: TestPortal

async function call(method: string, path: string, body?: unknown) {
  const response = await portal.call(method, path, body)
  if (hasSpec) {
    const {errors} = checkResponse(method, path, response.status, response.body)
    expect(errors ?? [], `${method} ${path} → ${response.status} against Port's spec`).toEqual([])
  }
  if (response.status >= 400)
    expect(response.body).toMatchObject({error: expect.any(String), message: expect.any(String), ok: false})
  return response
}

const createEnv = {
  identifier: 'create_env',
  invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
  title: 'Create env',
  trigger: {
    blueprintIdentifier: 'env',
    operation: 'CREATE',
    type: 'self-service',
    userInputs: {
      properties: {
        name: {pattern: '^[a-z-]+$', type: 'string'},
        size: {default: 'small', enum: ['small', 'large'], type: 'string'},
        ttl: {format: 'date-time', type: 'string'},
        replicas: {maximum: 5, minimum: 1, type: 'number'},
        token: {encryption: 'aes256-gcm', type: 'string'},
        note: {type: 'string', visible: {jqQuery: '.form.size == "large"'}},
      },
      required: {jqQuery: '["name"] + (if .form.size == "large" then ["note"] else [] end)'},
    },
  },
}
/** Waits until the portal has handed the run to its backend (queued for an agent here). */
const queued = (id: string) =>
  until(async () => {
    const {body} = await portal.call('GET', `/v1/actions/runs/${id}`)
    return body.run.pendingExecution ? body.run : undefined
  })

const restart = {
  identifier: 'restart_env',
  invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
  requiredApproval: true,
  trigger: {blueprintIdentifier: 'env', operation: 'DAY-2', type: 'self-service', userInputs: {properties: {}}},
}

beforeAll(async () => {
  portal = await startTestPortal()
  await call('POST', '/v1/blueprints', {identifier: 'env', schema: {properties: {}}, title: 'Env'})
  await call('POST', '/v1/blueprints/env/entities', {identifier: 'dev-1'})
  expect((await call('POST', '/v1/actions', createEnv)).status).toBe(201)
  expect((await call('POST', '/v1/actions', restart)).status).toBe(201)
})
afterAll(() => portal.stop())

describe('actions', () => {
  it('lists with filters, gets, replaces and deletes', async () => {
    const all = await call('GET', '/v1/actions')
    expect(all.body.actions.map((a: {identifier: string}) => a.identifier)).toEqual(['create_env', 'restart_env'])
    const day2 = await call('GET', '/v1/actions?operation=DAY-2')
    expect(day2.body.actions.map((a: {identifier: string}) => a.identifier)).toEqual(['restart_env'])
    const got = await call('GET', '/v1/actions/create_env')
    expect(got.body.action).toMatchObject({createdBy: portal.admin.clientId, id: expect.stringMatching(/^action_/)})
    await call('POST', '/v1/actions', {...restart, identifier: 'tmp'})
    const replaced = await call('PUT', '/v1/actions/tmp', {...restart, identifier: 'tmp', title: 'Temp'})
    expect(replaced.body.action.title).toBe('Temp')
    expect((await call('DELETE', '/v1/actions/tmp')).status).toBe(200)
    expect((await call('GET', '/v1/actions/tmp')).status).toBe(404)
  })

  it('rejects invalid actions with 422 and duplicates with 409', async () => {
    const bad = await call('POST', '/v1/actions', {
      identifier: 'bad id',
      invocationMethod: {type: 'WEBHOOK'},
      trigger: {type: 'self-service'},
    })
    expect(bad.status).toBe(422)
    for (const pointer of ['/identifier', '/invocationMethod/url', '/trigger'])
      expect(bad.body.message).toContain(pointer)
    expect((await call('POST', '/v1/actions', createEnv)).status).toBe(409)
    const unknownBlueprint = await call('POST', '/v1/actions', {
      ...restart,
      identifier: 'x',
      trigger: {...restart.trigger, blueprintIdentifier: 'nope'},
    })
    expect(unknownBlueprint.body.message).toContain('names blueprint "nope"')
  })
})

describe('runs', () => {
  it('creates a run (202), applying defaults and storing secrets encrypted', async () => {
    const response = await call('POST', '/v1/actions/create_env/runs', {
      properties: {name: 'dev', token: 'hunter2', ttl: '2030-01-01T00:00:00.000Z'},
    })
    expect(response.status).toBe(202)
    const {run} = response.body
    expect(run).toMatchObject({
      action: {identifier: 'create_env', title: 'Create env'},
      blueprint: {identifier: 'env'},
      id: expect.stringMatching(/^r_[A-Za-z0-9]{16}$/),
      properties: {name: 'dev', size: 'small', ttl: '2030-01-01T00:00:00.000Z'},
      requiredApproval: false,
      source: 'API',
      status: 'IN_PROGRESS',
    })
    expect(run.properties.token).not.toBe('hunter2')
    expect(decryptSecret(run.properties.token, portal.admin.clientSecret)).toBe('hunter2')
  })

  it('answers 422 naming every bad input', async () => {
    const response = await call('POST', '/v1/actions/create_env/runs', {
      properties: {bogus: 1, name: 'Bad Name', replicas: 9, size: 'huge', ttl: 'soon'},
    })
    expect(response.status).toBe(422)
    // An input the action does not declare is no error: Port accepts and keeps it.
    expect(response.body.message).not.toContain('/properties/bogus')
    for (const input of ['/properties/name', '/properties/replicas', '/properties/size', '/properties/ttl']) {
      expect(response.body.message).toContain(input)
    }
  })

  it('accepts and keeps inputs the action does not declare, as Port does', async () => {
    const response = await call('POST', '/v1/actions/create_env/runs', {
      properties: {extra: {from: 'a workflow'}, name: 'undeclared'},
    })
    expect(response.status).toBe(202)
    expect(response.body.run.properties).toMatchObject({extra: {from: 'a workflow'}, name: 'undeclared'})
  })

  it('evaluates visible and required jqQuery against the form', async () => {
    const missing = await call('POST', '/v1/actions/create_env/runs', {properties: {name: 'x', size: 'large'}})
    expect(missing.body.message).toContain('/properties/note is required')
    const hidden = await call('POST', '/v1/actions/create_env/runs', {properties: {name: 'x', note: 'dropped'}})
    expect(hidden.body.run.properties.note).toBeUndefined()
  })

  it('needs an existing entity for DAY-2 actions and waits for approval', async () => {
    expect((await call('POST', '/v1/actions/restart_env/runs', {properties: {}})).status).toBe(422)
    expect((await call('POST', '/v1/actions/restart_env/runs', {entity: 'ghost', properties: {}})).status).toBe(404)
    const {body} = await call('POST', '/v1/actions/restart_env/runs', {entity: 'dev-1', properties: {}})
    expect(body.run).toMatchObject({entity: {identifier: 'dev-1'}, status: 'WAITING_FOR_APPROVAL'})
    const approved = await call('PATCH', `/v1/actions/runs/${body.run.id}/approval`, {
      description: 'ok',
      status: 'APPROVE',
    })
    expect(approved.status).toBe(201)
    expect(approved.body.run).toMatchObject({approval: {state: 'APPROVED'}, status: 'IN_PROGRESS'})
    const approvers = await call('GET', `/v1/actions/runs/${body.run.id}/approvers`)
    expect(approvers.body.approvers).toEqual([{description: 'ok', state: 'APPROVED', userId: portal.admin.clientId}])

    const other = await call('POST', '/v1/actions/restart_env/runs', {entity: 'dev-1', properties: {}})
    const declined = await call('PATCH', `/v1/actions/runs/${other.body.run.id}/approval`, {status: 'DECLINE'})
    expect(declined.body.run).toMatchObject({endedAt: expect.any(String), status: 'DECLINED'})
    expect((await call('PATCH', `/v1/actions/runs/${other.body.run.id}/approval`, {status: 'APPROVE'})).status).toBe(
      422,
    )
  })

  it('takes PATCHes and logs until it ends; then it is final', async () => {
    const {body} = await call('POST', '/v1/actions/create_env/runs', {properties: {name: 'logs'}})
    const id = body.run.id
    await queued(id)
    await call('PATCH', `/v1/actions/runs/${id}`, {link: 'https://ci/1', statusLabel: 'Provisioning'})
    for (const message of ['one', 'two', 'three'])
      expect((await call('POST', `/v1/actions/runs/${id}/logs`, {message})).status).toBe(201)
    const page = await call('GET', `/v1/actions/runs/${id}/logs?limit=2&offset=2`)
    expect(page.body.runLogs.map((log: {message: string}) => log.message)).toEqual(['two', 'three'])
    const first = await call('GET', `/v1/actions/runs/${id}/logs?limit=1`)
    expect(first.body.runLogs[0].message).toBe('Waiting for an agent to pick the run up')
    const ended = await call('POST', `/v1/actions/runs/${id}/logs`, {message: 'done', terminationStatus: 'SUCCESS'})
    expect(ended.body.runLog).toMatchObject({message: 'done', runId: id})
    const run = await call('GET', `/v1/actions/runs/${id}`)
    expect(run.body.run).toMatchObject({
      endedAt: expect.any(String),
      link: ['https://ci/1'],
      status: 'SUCCESS',
      statusLabel: 'Provisioning',
    })
    expect((await call('PATCH', `/v1/actions/runs/${id}`, {status: 'FAILURE'})).status).toBe(422)
    // A late log line is kept (Port's agent writes its last one after reporting); the run stays final.
    expect((await call('POST', `/v1/actions/runs/${id}/logs`, {message: 'late'})).status).toBe(201)
    expect(
      (await call('POST', `/v1/actions/runs/${id}/logs`, {message: 'flip', terminationStatus: 'FAILURE'})).status,
    ).toBe(422)
    expect((await call('GET', `/v1/actions/runs/${id}`)).body.run.status).toBe('SUCCESS')
  })

  it('lists runs newest first with filters', async () => {
    const list = await call('GET', '/v1/actions/runs?action=restart_env&limit=5')
    expect(list.body.runs.length).toBe(2)
    expect(list.body.runs.every((run: {action: {identifier: string}}) => run.action.identifier === 'restart_env')).toBe(
      true,
    )
    const active = await call('GET', '/v1/actions/runs?active=true')
    expect(
      active.body.runs.every((run: {status: string}) => ['IN_PROGRESS', 'WAITING_FOR_APPROVAL'].includes(run.status)),
    ).toBe(true)
    expect((await call('GET', '/v1/actions/runs/r_nope')).status).toBe(404)
  })

  it('long-polls a run until it changes (idp_wait, an embedded-portal extension)', async () => {
    const {body} = await call('POST', '/v1/actions/create_env/runs', {properties: {name: 'wait'}})
    const {id, updatedAt} = await queued(body.run.id)
    const started = Date.now()
    const waiting = call('GET', `/v1/actions/runs/${id}?idp_wait=10&idp_since=${encodeURIComponent(updatedAt)}`)
    setTimeout(() => void call('PATCH', `/v1/actions/runs/${id}`, {status: 'SUCCESS'}), 150)
    const answer = await waiting
    expect(answer.body.run.status).toBe('SUCCESS')
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('stops a runaway jqQuery instead of stalling the portal', async () => {
    await call('POST', '/v1/actions', {
      ...restart,
      identifier: 'runaway',
      requiredApproval: false,
      trigger: {
        operation: 'CREATE',
        type: 'self-service',
        userInputs: {properties: {a: {type: 'string'}}, required: {jqQuery: 'def f: f; f'}},
      },
    })
    const response = await call('POST', '/v1/actions/runaway/runs', {properties: {}})
    expect(response.status).toBe(422)
    expect(response.body.message).toContain('took longer than')
    expect((await call('GET', '/v1/actions')).status).toBe(200)
  })
})
