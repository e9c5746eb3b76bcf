import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startRolesPortal, type RolesPortal} from '../security/helpers.js'

/**
 * Port's users and teams as blueprints: `_team` and `_user` exist on every portal, teams are
 * `_team` entities that an entity's `team` must name, every credential is a `_user` entity, and
 * permission rules by team follow the `_user` entity's `teams` relation.
 */
let portal: RolesPortal
beforeAll(async () => {
  portal = await startRolesPortal()
  await portal.asAdmin.call('POST', '/v1/blueprints', {identifier: 'svc', schema: {properties: {}}, title: 'Service'})
})
afterAll(() => portal.stop())

const admin = (method: string, path: string, body?: unknown) => portal.asAdmin.call(method, path, body)

describe('system blueprints', () => {
  it('_team and _user exist, and each credential is a _user entity', async () => {
    expect((await admin('GET', '/v1/blueprints/_team')).body.blueprint).toMatchObject({
      schema: {properties: {description: {type: 'string'}, size: {type: 'number'}}},
      title: 'Team',
    })
    expect((await admin('GET', '/v1/blueprints/_user')).body.blueprint).toMatchObject({
      relations: {teams: {many: true, target: '_team'}},
      title: 'User',
    })
    const users = (await admin('GET', '/v1/blueprints/_user/entities')).body.entities
    expect(users).toContainEqual(
      expect.objectContaining({
        identifier: `${portal.admin.clientId}@clients`,
        properties: expect.objectContaining({port_role: 'Admin', status: 'Active'}),
      }),
    )
  })

  it('cannot be deleted; may gain properties, but their default ones stay', async () => {
    const deleted = await admin('DELETE', '/v1/blueprints/_team')
    expect(deleted.status).toBe(422)
    expect(deleted.body.message).toContain('system blueprint')
    const extended = await admin('PATCH', '/v1/blueprints/_team', {
      schema: {properties: {slack: {format: 'url', type: 'string'}}},
    })
    expect(extended.status).toBe(200)
    expect(extended.body.blueprint.schema.properties).toHaveProperty('description')
    const changed = await admin('PATCH', '/v1/blueprints/_team', {
      schema: {properties: {description: {type: 'number'}}},
    })
    expect(changed.status).toBe(422)
    expect(changed.body.message).toContain('/schema/properties/description')
  })
})

describe('teams', () => {
  it("an entity's team must name a _team entity", async () => {
    const refused = await admin('POST', '/v1/blueprints/svc/entities', {identifier: 'cart', team: ['checkout']})
    expect(refused.status).toBe(422)
    expect(refused.body.message).toContain('/team names "checkout", which is not a team')
    expect((await admin('GET', '/v1/blueprints/svc/entities/cart')).status).toBe(404)
    await admin('POST', '/v1/blueprints/_team/entities', {identifier: 'checkout', title: 'Checkout'})
    const created = await admin('POST', '/v1/blueprints/svc/entities', {identifier: 'cart', team: 'checkout'})
    expect(created.body.entity.team).toEqual(['checkout'])
  })

  it('a credential made with teams brings its _team entities and its _user relation', async () => {
    const made = await admin('POST', '/v1/idp/credentials', {email: 'ops@example.com', role: 'member', teams: ['ops']})
    expect(made.status).toBe(201)
    expect((await admin('GET', '/v1/blueprints/_team/entities/ops')).status).toBe(200)
    expect((await admin('GET', '/v1/blueprints/_user/entities/ops@example.com')).body.entity).toMatchObject({
      properties: {port_role: 'Member', port_type: 'Standard', status: 'Active'},
      relations: {teams: ['ops']},
    })
  })

  it("permission rules by team follow the _user entity's teams", async () => {
    await admin('POST', '/v1/actions', {
      identifier: 'payments_only',
      invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
      trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
    })
    await admin('PATCH', '/v1/actions/payments_only/permissions', {execute: {roles: [], teams: ['payments']}})
    // "other" was made without teams; "member" with team payments.
    expect((await portal.member.call('POST', '/v1/actions/payments_only/runs', {properties: {}})).status).toBe(202)
    const run = () => portal.other.call('POST', '/v1/actions/payments_only/runs', {properties: {}})
    expect((await run()).status).toBe(403)
    await admin('PATCH', '/v1/blueprints/_user/entities/other@example.com', {relations: {teams: ['payments']}})
    expect((await run()).status).toBe(202)
  })
})

describe('inherited ownership', () => {
  const team = async (blueprint: string, id: string) =>
    (await admin('GET', `/v1/blueprints/${blueprint}/entities/${id}`)).body.entity.team

  it('takes the team along the relation path, and keeps it current as the path changes', async () => {
    for (const id of ['alpha', 'beta']) await admin('POST', '/v1/blueprints/_team/entities', {identifier: id})
    await admin('POST', '/v1/blueprints', {
      identifier: 'system',
      ownership: {type: 'Direct'},
      schema: {properties: {}},
      title: 'System',
    })
    await admin('POST', '/v1/blueprints', {
      identifier: 'service',
      ownership: {path: 'system', type: 'Inherited'},
      relations: {system: {many: false, required: false, target: 'system'}},
      schema: {properties: {}},
      title: 'Service',
    })
    // The legacy form, as Port's Terraform provider and older catalogs write it.
    const legacy = await admin('POST', '/v1/blueprints', {
      identifier: 'deployment',
      relations: {service: {many: false, required: false, target: 'service'}},
      schema: {properties: {}},
      teamInheritance: {path: 'service.system'},
      title: 'Deployment',
    })
    expect(legacy.body.blueprint.ownership).toEqual({path: 'service.system', type: 'Inherited'})
    await admin('POST', '/v1/blueprints/system/entities', {identifier: 's1', team: ['alpha']})
    await admin('POST', '/v1/blueprints/system/entities', {identifier: 's2'})
    const service = await admin('POST', '/v1/blueprints/service/entities', {
      identifier: 'svc1',
      relations: {system: 's1'},
      team: ['beta'], // ignored: the team is inherited
    })
    expect(service.body.entity.team).toEqual(['alpha'])
    await admin('POST', '/v1/blueprints/deployment/entities', {identifier: 'd1', relations: {service: 'svc1'}})
    expect(await team('deployment', 'd1')).toEqual(['alpha'])

    await admin('PATCH', '/v1/blueprints/system/entities/s1', {team: ['beta']})
    expect(await team('service', 'svc1')).toEqual(['beta'])
    expect(await team('deployment', 'd1')).toEqual(['beta'])

    await admin('PATCH', '/v1/blueprints/service/entities/svc1', {relations: {system: 's2'}})
    expect(await team('service', 'svc1')).toEqual([])
    expect(await team('deployment', 'd1')).toEqual([])

    await admin('PATCH', '/v1/blueprints/service/entities/svc1', {relations: {system: 's1'}})
    expect(await team('deployment', 'd1')).toEqual(['beta'])
    const found = await admin('POST', '/v1/entities/search', {
      combinator: 'and',
      rules: [{operator: 'containsAny', property: '$team', value: ['beta']}],
    })
    expect(found.body.entities.map((entity: {identifier: string}) => entity.identifier).sort()).toEqual([
      'd1',
      's1',
      'svc1',
    ])
    await admin('DELETE', '/v1/blueprints/system/entities/s1')
    expect(await team('service', 'svc1')).toEqual([])
    expect(await team('deployment', 'd1')).toEqual([])
  })

  it('refuses a path that is not a path of relations', async () => {
    const bad = await admin('POST', '/v1/blueprints', {
      identifier: 'orphan',
      ownership: {path: 'nowhere', type: 'Inherited'},
      schema: {properties: {}},
      title: 'Orphan',
    })
    expect(bad.status).toBe(422)
    expect(bad.body.message).toContain('/ownership/path "nowhere" is not a path of relations')
  })
})
