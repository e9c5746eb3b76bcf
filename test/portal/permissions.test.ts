import {afterAll, beforeAll, expect, it} from 'vitest'

import {accessToken, request} from '../helpers/http.js'
import {startTestPortal, type TestPortal} from '../helpers/portal.js'
import {startRolesPortal} from '../security/helpers.js'

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
  member = await accessToken(portal.url, {clientId: 'dev-1', clientSecret: 'member-secret'})
  await portal.call('POST', '/v1/blueprints', {identifier: 'svc', schema: {properties: {}}, title: 'Service'})
  await portal.call('POST', '/v1/actions', {
    identifier: 'ping',
    invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
    trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
  })
})
afterAll(() => portal.stop())

const asMember = (method: string, path: string, body?: unknown) =>
  request(portal.url, method, path, {body, token: member})

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

const tokens = new Map<string, string>()
/** A member credential (created once) and a raw call made with it. */
async function as(email: string, teams: string[], method: string, path: string, body?: unknown) {
  if (!tokens.has(email)) {
    const clientId = `c-${email.split('@')[0]}`
    await portal.store.transaction(() =>
      portal.store.createCredential({
        clientId,
        clientSecret: `${clientId}-secret`,
        createdAt: new Date().toISOString(),
        email,
        role: 'member',
        teams,
      }),
    )
    tokens.set(email, await accessToken(portal.url, {clientId, clientSecret: `${clientId}-secret`}))
  }
  return request(portal.url, method, path, {body, token: tokens.get(email)})
}

const action = (identifier: string, extra: Record<string, unknown> = {}) =>
  portal.call('POST', '/v1/actions', {
    identifier,
    invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
    trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
    ...extra,
  })

it('decides who may execute an action by user, role and team; admins always may', async () => {
  await action('restricted')
  expect((await portal.call('GET', '/v1/actions/restricted/permissions')).body.permissions.execute).toMatchObject({
    roles: ['Admin', 'Member'],
  })
  const patched = await portal.call('PATCH', '/v1/actions/restricted/permissions', {
    execute: {roles: [], teams: ['platform'], users: ['lead@example.com']},
  })
  expect(patched.body.permissions.execute).toEqual({
    ownedByTeam: false,
    policy: null,
    roles: [],
    teams: ['platform'],
    users: ['lead@example.com'],
  })
  expect(patched.body.permissions.approve.roles).toEqual(['Admin'])

  const denied = await as('dev@example.com', ['payments'], 'POST', '/v1/actions/restricted/runs', {properties: {}})
  expect(denied.status).toBe(403)
  expect(denied.body).toEqual({
    error: 'forbidden',
    message: expect.stringContaining('dev@example.com may not execute action "restricted"'),
    ok: false,
  })
  expect((await as('lead@example.com', [], 'POST', '/v1/actions/restricted/runs', {properties: {}})).status).toBe(202)
  expect(
    (await as('ops@example.com', ['platform'], 'POST', '/v1/actions/restricted/runs', {properties: {}})).status,
  ).toBe(202)
  expect((await portal.call('POST', '/v1/actions/restricted/runs', {properties: {}})).status).toBe(202)
  expect((await portal.call('GET', '/v1/actions/runs?action=restricted')).body.runs).toHaveLength(3)
  // Only admins change permissions.
  expect(
    (await as('dev@example.com', [], 'PATCH', '/v1/actions/restricted/permissions', {execute: {roles: ['Member']}}))
      .status,
  ).toBe(403)
  expect((await portal.call('PATCH', '/v1/actions/restricted/permissions', {execute: {bogus: 1}})).status).toBe(422)
  expect((await portal.call('GET', '/v1/actions/nope/permissions')).status).toBe(404)
})

it('lets the owning team execute DAY-2 actions with ownedByTeam, and policies decide alone', async () => {
  await portal.call('POST', '/v1/blueprints/_team/entities', {identifier: 'payments', title: 'Payments'})
  await portal.call('POST', '/v1/blueprints/svc/entities', {identifier: 'owned', team: ['payments']})
  await portal.call('POST', '/v1/actions', {
    identifier: 'restart',
    invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
    trigger: {blueprintIdentifier: 'svc', operation: 'DAY-2', type: 'self-service', userInputs: {properties: {}}},
  })
  await portal.call('PATCH', '/v1/actions/restart/permissions', {execute: {ownedByTeam: true, roles: []}})
  const run = (email: string, teams: string[]) =>
    as(email, teams, 'POST', '/v1/actions/restart/runs', {entity: 'owned', properties: {}})
  expect((await run('dev@example.com', ['payments'])).status).toBe(202)
  expect((await run('ops@example.com', ['platform'])).status).toBe(403)

  // A policy: only users who own some "svc" entity's team… here, whose email matches a query result.
  await portal.call('POST', '/v1/blueprints/svc/entities', {identifier: 'ops-example-com', team: []})
  await portal.call('PATCH', '/v1/actions/restart/permissions', {
    execute: {
      policy: {
        conditions: ['.results.mine.entities | length > 0'],
        queries: {
          mine: {
            combinator: 'and',
            rules: [
              {operator: '=', property: '$blueprint', value: 'svc'},
              {operator: '=', property: '$identifier', value: '{{ .user.email | gsub("[@.]"; "-") }}'},
            ],
          },
        },
      },
    },
  })
  expect((await run('ops@example.com', ['platform'])).status).toBe(202)
  expect((await run('dev@example.com', ['payments'])).status).toBe(403)
})

it('approvals: ANY takes one approver of the approve list; others get 403', async () => {
  await action('deploy', {requiredApproval: {type: 'ANY'}})
  await portal.call('PATCH', '/v1/actions/deploy/permissions', {approve: {roles: [], teams: ['platform']}})
  const created = await as('dev@example.com', [], 'POST', '/v1/actions/deploy/runs', {properties: {}})
  const id = created.body.run.id
  expect(created.body.run.status).toBe('WAITING_FOR_APPROVAL')
  const pending = await portal.call('GET', `/v1/actions/runs/${id}/approvers?include_pending_approvers=true`)
  expect(pending.body.approvers).toEqual([{state: 'PENDING', userId: 'c-ops'}])
  // The admin is not an approver of this action; neither is the requester.
  expect((await portal.call('PATCH', `/v1/actions/runs/${id}/approval`, {status: 'APPROVE'})).status).toBe(403)
  expect(
    (await as('dev@example.com', [], 'PATCH', `/v1/actions/runs/${id}/approval`, {status: 'APPROVE'})).status,
  ).toBe(403)
  const approved = await as('ops@example.com', [], 'PATCH', `/v1/actions/runs/${id}/approval`, {
    description: 'ship it',
    status: 'APPROVE',
  })
  expect(approved.status).toBe(201)
  expect(approved.body.run).toMatchObject({approval: {state: 'APPROVED', userId: 'c-ops'}, status: 'IN_PROGRESS'})
  expect((await portal.call('GET', `/v1/actions/runs/${id}/approvers`)).body.approvers).toEqual([
    {description: 'ship it', state: 'APPROVED', userId: 'c-ops'},
  ])
})

it('approvals: ALL needs every approver; one decline is final', async () => {
  await action('migrate', {requiredApproval: {type: 'ALL'}})
  await portal.call('PATCH', '/v1/actions/migrate/permissions', {
    approve: {roles: [], users: ['lead@example.com', 'ops@example.com']},
  })
  const start = async () => (await portal.call('POST', '/v1/actions/migrate/runs', {properties: {}})).body.run.id
  const decide = (email: string, id: string, status: string) =>
    as(email, [], 'PATCH', `/v1/actions/runs/${id}/approval`, {status})

  const first = await start()
  const half = await decide('lead@example.com', first, 'APPROVE')
  expect(half.body.run).toMatchObject({status: 'WAITING_FOR_APPROVAL', statusLabel: 'Approved by 1 of 2'})
  expect(
    (await portal.call('GET', `/v1/actions/runs/${first}/approvers?include_pending_approvers=true`)).body.approvers,
  ).toEqual([
    {state: 'APPROVED', userId: 'c-lead'},
    {state: 'PENDING', userId: 'c-ops'},
  ])
  expect((await decide('ops@example.com', first, 'APPROVE')).body.run).toMatchObject({
    status: 'IN_PROGRESS',
    statusLabel: null,
  })

  const second = await start()
  await decide('lead@example.com', second, 'APPROVE')
  expect((await decide('ops@example.com', second, 'DECLINE')).body.run.status).toBe('DECLINED')
  expect((await decide('lead@example.com', second, 'APPROVE')).status).toBe(422)
})

it('a permission policy that fails says why: in the 403, the run’s log and the portal’s log', async () => {
  const notices: string[] = []
  const roles = await startRolesPortal({onError: (error) => notices.push((error as Error).message)})
  const {asAdmin, member} = roles
  const create = async (identifier: string, permissions: unknown, extra: Record<string, unknown> = {}) => {
    await asAdmin.call('POST', '/v1/actions', {
      identifier,
      invocationMethod: {type: 'KAFKA'},
      trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
      ...extra,
    })
    expect((await asAdmin.call('PATCH', `/v1/actions/${identifier}/permissions`, permissions)).status).toBe(200)
  }
  const logs = async (runId: string) =>
    (await asAdmin.call('GET', `/v1/actions/runs/${runId}/logs`)).body.runLogs.map(
      (line: {message: string}) => line.message,
    )
  const broken = 'error("no team table")'
  const queries = {any: {combinator: 'and', rules: [{operator: '=', property: '$blueprint', value: '_team'}]}}

  await create('refused', {execute: {policy: {conditions: [broken], queries}}})
  const refused = await member.call('POST', '/v1/actions/refused/runs', {properties: {}})
  expect(refused.status).toBe(403)
  expect(refused.body.message).toContain('; execute policy condition 1 failed: ')
  expect(refused.body.message).toContain('no team table')
  expect(notices.some((line) => line.startsWith('action "refused": execute policy condition 1 failed: '))).toBe(true)

  // Conditions are ORed: a later one lets the member run it; the run's log says the first failed.
  await create('allowed', {execute: {policy: {conditions: [broken, 'true'], queries}}})
  const allowed = await member.call('POST', '/v1/actions/allowed/runs', {properties: {}})
  expect(allowed.status).toBe(202)
  expect((await logs(allowed.body.run.id))[0]).toMatch(
    /^Permissions: execute policy condition 1 failed: .*no team table/,
  )

  await create('approved', {approve: {policy: {conditions: [broken], queries}}}, {requiredApproval: true})
  const waiting = (await member.call('POST', '/v1/actions/approved/runs', {properties: {}})).body.run
  expect(waiting.status).toBe('WAITING_FOR_APPROVAL')
  const decision = await asAdmin.call('PATCH', `/v1/actions/runs/${waiting.id}/approval`, {status: 'APPROVE'})
  expect(decision.status).toBe(403)
  expect(decision.body.message).toContain('approve policy condition 1 failed')
  expect(await logs(waiting.id)).toContainEqual(
    expect.stringMatching(/^Permissions: approve policy condition 1 failed/),
  )
  expect(notices.some((line) => line.startsWith('action "approved": approve policy condition 1 failed'))).toBe(true)
  await roles.stop()
})
