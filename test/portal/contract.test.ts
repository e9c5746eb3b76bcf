import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {checkRequest, checkResponse, hasSpec} from '../helpers/openapi.js'
import {startTestPortal, type TestPortal} from '../helpers/portal.js'

let portal: TestPortal

/** Every call goes through here: the response must match Port's spec where it declares one. */
async function call(method: string, path: string, body?: unknown, options?: {auth?: boolean; raw?: string}) {
  const response = await portal.call(method, path, body, options)
  if (hasSpec) {
    const {errors} = checkResponse(method, path, response.status, response.body)
    expect(errors ?? [], `${method} ${path} → ${response.status} against Port's spec`).toEqual([])
  }
  if (response.status >= 400) {
    expect(response.body).toMatchObject({error: expect.any(String), message: expect.any(String), ok: false})
  }
  return response
}

const system = {identifier: 'System', relations: {}, schema: {properties: {}, required: []}, title: 'System'}
const component = {
  identifier: 'Component',
  relations: {
    components: {many: true, required: false, target: 'Component'},
    system: {many: false, required: false, target: 'System'},
  },
  schema: {
    properties: {
      replicas: {maximum: 10, minimum: 1, type: 'number'},
      tags: {items: {type: 'string'}, type: 'array'},
      ttl: {format: 'timer', type: 'string'},
      type: {enum: ['service', 'library'], type: 'string'},
      url: {format: 'url', type: 'string'},
      tier: {default: 'gold', type: 'string'},
    },
    required: ['type'],
  },
  title: 'Component',
}
const api = {
  identifier: 'API',
  relations: {provider: {many: false, required: true, target: 'Component'}},
  schema: {properties: {}},
  title: 'API',
}

beforeAll(async () => {
  portal = await startTestPortal()
  for (const blueprint of [system, component, api])
    expect((await call('POST', '/v1/blueprints', blueprint)).status).toBe(201)
  await call('POST', '/v1/blueprints/System/entities', {identifier: 'Cart', title: 'Cart'})
})
afterAll(() => portal.stop())

describe('auth', () => {
  it('issues a bearer token and returns the same one while it is valid', async () => {
    const first = await call('POST', '/v1/auth/access_token', portal.admin, {auth: false})
    expect(first.status).toBe(200)
    expect(first.body).toMatchObject({
      accessToken: expect.any(String),
      expiresIn: expect.any(Number),
      ok: true,
      tokenType: 'Bearer',
    })
    const second = await call('POST', '/v1/auth/access_token', portal.admin, {auth: false})
    expect(second.body.accessToken).toBe(first.body.accessToken)
  })

  it('rejects bad credentials with 401 invalid_credentials', async () => {
    const response = await call(
      'POST',
      '/v1/auth/access_token',
      {...portal.admin, clientSecret: 'wrong'},
      {auth: false},
    )
    expect(response.status).toBe(401)
    expect(response.body.error).toBe('invalid_credentials')
  })

  it('rejects a malformed token request with 422', async () => {
    const response = await call('POST', '/v1/auth/access_token', {clientId: 'x'}, {auth: false})
    expect(response.status).toBe(422)
    expect(response.body.message).toContain('/clientSecret is required')
  })

  it('requires a bearer token on every other route', async () => {
    expect((await call('GET', '/v1/blueprints', undefined, {auth: false})).status).toBe(401)
  })
})

describe('blueprints', () => {
  it('lists, gets and normalises blueprints with audit fields', async () => {
    const list = await call('GET', '/v1/blueprints')
    expect(list.body.blueprints.map((bp: {identifier: string}) => bp.identifier)).toEqual([
      '_team',
      '_user',
      'System',
      'Component',
      'API',
    ])
    const {body} = await call('GET', '/v1/blueprints/API')
    expect(body.blueprint).toMatchObject({
      aggregationProperties: {},
      calculationProperties: {},
      createdAt: expect.any(String),
      createdBy: portal.admin.clientId,
      mirrorProperties: {},
      schema: {properties: {}, required: []},
    })
  })

  it('answers 409 for a duplicate and 404 for an unknown blueprint', async () => {
    expect((await call('POST', '/v1/blueprints', system)).status).toBe(409)
    const missing = await call('GET', '/v1/blueprints/Nope')
    expect(missing.status).toBe(404)
    expect(missing.body.error).toBe('not_found')
  })

  it('rejects invalid blueprints with 422 naming every field', async () => {
    const response = await call('POST', '/v1/blueprints', {
      identifier: 'bad id',
      relations: {x: {target: 'Missing'}},
      schema: {properties: {n: {type: 'decimal'}}},
    })
    expect(response.status).toBe(422)
    for (const pointer of ['/identifier', '/title', '/schema/properties/n/type'])
      expect(response.body.message).toContain(pointer)
  })

  it('rejects a relation to a blueprint that does not exist', async () => {
    const response = await call('POST', '/v1/blueprints', {
      ...system,
      identifier: 'Orphan',
      relations: {x: {target: 'Missing'}},
    })
    expect(response.status).toBe(422)
    expect(response.body.message).toContain('/relations/x/target targets blueprint "Missing"')
  })

  it('replaces, patches and refuses type changes', async () => {
    await call('POST', '/v1/blueprints', {...system, identifier: 'Scratch', title: 'Scratch'})
    const patched = await call('PATCH', '/v1/blueprints/Scratch', {schema: {properties: {size: {type: 'number'}}}})
    expect(patched.status).toBe(200)
    expect(patched.body.blueprint.schema.properties.size).toEqual({type: 'number'})
    const retyped = await call('PATCH', '/v1/blueprints/Scratch', {schema: {properties: {size: {type: 'string'}}}})
    expect(retyped.status).toBe(422)
    const replaced = await call('PUT', '/v1/blueprints/Scratch', {schema: {properties: {}}, title: 'Renamed'})
    expect(replaced.body.blueprint).toMatchObject({identifier: 'Scratch', schema: {properties: {}}, title: 'Renamed'})
    expect((await call('DELETE', '/v1/blueprints/Scratch')).status).toBe(200)
    expect((await call('GET', '/v1/blueprints/Scratch')).status).toBe(404)
  })

  it('refuses to delete a blueprint that has entities or is a relation target', async () => {
    expect((await call('DELETE', '/v1/blueprints/System')).status).toBe(409)
  })
})

describe('entities', () => {
  const path = '/v1/blueprints/Component/entities'

  it('creates with 201, applies defaults, and answers 409 without upsert', async () => {
    const created = await call('POST', path, {
      identifier: 'svc-a',
      properties: {type: 'service'},
      relations: {system: 'Cart'},
    })
    expect(created.status).toBe(201)
    expect(created.body.entity).toEqual({
      blueprint: 'Component',
      createdAt: expect.any(String),
      createdBy: portal.admin.clientId,
      identifier: 'svc-a',
      properties: {tier: 'gold', type: 'service'},
      relations: {system: 'Cart'},
      team: [],
      updatedAt: expect.any(String),
      updatedBy: portal.admin.clientId,
    })
    expect((await call('POST', path, {identifier: 'svc-a', properties: {type: 'service'}})).status).toBe(409)
  })

  it('generates an identifier when none is given', async () => {
    const {body} = await call('POST', path, {properties: {type: 'library'}})
    expect(body.entity.identifier).toMatch(/^e_[A-Za-z0-9]{16}$/)
  })

  it('upsert overwrites; upsert with merge changes only the fields sent', async () => {
    await call('POST', path, {identifier: 'svc-b', properties: {replicas: 2, type: 'service'}, title: 'B'})
    const merged = await call('POST', `${path}?upsert=true&merge=true`, {
      identifier: 'svc-b',
      properties: {replicas: 3},
    })
    expect(merged.body.entity).toMatchObject({properties: {replicas: 3, type: 'service'}, title: 'B'})
    const replaced = await call('POST', `${path}?upsert=true`, {identifier: 'svc-b', properties: {type: 'library'}})
    expect(replaced.body.entity.properties).toEqual({tier: 'gold', type: 'library'})
    expect(replaced.body.entity.title).toBeUndefined()
  })

  it('validates property values against the blueprint with 422 pointers, storing nothing', async () => {
    const response = await call('POST', path, {
      identifier: 'svc-bad',
      properties: {replicas: 'three', tags: 'x', ttl: 'soon', type: 'daemon', unknown: 1, url: 'not a url'},
    })
    expect(response.status).toBe(422)
    for (const field of ['replicas', 'tags', 'ttl', 'type', 'unknown', 'url']) {
      expect(response.body.message).toContain(`/properties/${field} `)
    }
    expect((await call('GET', `${path}/svc-bad`)).status).toBe(404)
  })

  it('enforces required properties, identifiers rules and relation shapes', async () => {
    expect((await call('POST', path, {identifier: 'no-type', properties: {}})).body.message).toContain(
      '/properties/type is required',
    )
    expect((await call('POST', path, {identifier: '..', properties: {type: 'service'}})).status).toBe(422)
    expect((await call('POST', path, {identifier: 'a b', properties: {type: 'service'}})).status).toBe(422)
    const many = await call('POST', path, {
      identifier: 'x',
      properties: {type: 'service'},
      relations: {components: 'svc-a'},
    })
    expect(many.body.message).toContain('/relations/components must be an array')
    // Port answers a relation the blueprint lacks as a missing resource (what Port's clients see).
    const unknown = await call('POST', path, {identifier: 'x', properties: {type: 'service'}, relations: {nope: 'a'}})
    expect(unknown.status).toBe(404)
    expect(unknown.body).toMatchObject({error: 'relation_not_found', ok: false})
    expect(unknown.body.message).toContain('Relation "nope" was not found in blueprint')
    const required = await call('POST', '/v1/blueprints/API/entities', {identifier: 'api-x'})
    expect(required.body.message).toContain('/relations/provider is required')
  })

  it('answers 404 for an unknown blueprint and for a missing relation target, unless asked to create it', async () => {
    expect((await call('POST', '/v1/blueprints/Nope/entities', {identifier: 'a'})).status).toBe(404)
    const missing = await call('POST', path, {
      identifier: 'svc-c',
      properties: {type: 'service'},
      relations: {system: 'Ghost'},
    })
    expect(missing.status).toBe(404)
    expect(missing.body.message).toContain('"Ghost"')
    const created = await call('POST', `${path}?create_missing_related_entities=true`, {
      identifier: 'svc-c',
      properties: {type: 'service'},
      relations: {system: 'Ghost'},
    })
    expect(created.status).toBe(201)
    expect((await call('GET', '/v1/blueprints/System/entities/Ghost')).status).toBe(200)
  })

  it('validation_only checks without writing', async () => {
    const response = await call('POST', `${path}?validation_only=true`, {
      identifier: 'dry',
      properties: {type: 'service'},
    })
    expect(response.status).toBe(201)
    expect((await call('GET', `${path}/dry`)).status).toBe(404)
  })

  it('PUT replaces and PATCH merges an existing entity; both 404 when it is missing', async () => {
    await call('POST', path, {identifier: 'svc-d', properties: {replicas: 1, type: 'service'}, title: 'D'})
    const patched = await call('PATCH', `${path}/svc-d`, {properties: {replicas: 5}, title: null})
    expect(patched.body.entity).toMatchObject({properties: {replicas: 5, type: 'service'}})
    expect(patched.body.entity.title).toBeUndefined()
    const put = await call('PUT', `${path}/svc-d`, {properties: {type: 'library'}})
    expect(put.body.entity.properties).toEqual({tier: 'gold', type: 'library'})
    expect((await call('PATCH', `${path}/ghost`, {title: 'x'})).status).toBe(404)
    expect((await call('PUT', `${path}/svc-d`, {identifier: 'other', properties: {type: 'service'}})).status).toBe(422)
  })

  it('protects required dependents unless delete_dependents, and clears optional relations', async () => {
    await call('POST', path, {identifier: 'provider', properties: {type: 'service'}})
    await call('POST', path, {
      identifier: 'consumer',
      properties: {type: 'service'},
      relations: {components: ['provider']},
    })
    await call('POST', '/v1/blueprints/API/entities', {identifier: 'prov-api', relations: {provider: 'provider'}})

    const blocked = await call('DELETE', `${path}/provider`)
    expect(blocked.status).toBe(422)
    expect(blocked.body.error).toBe('has_dependents')

    expect((await call('DELETE', `${path}/provider?delete_dependents=true`)).status).toBe(200)
    expect((await call('GET', '/v1/blueprints/API/entities/prov-api')).status).toBe(404)
    const consumer = await call('GET', `${path}/consumer`)
    expect(consumer.body.entity.relations).toEqual({})
  })

  it('bulk-creates up to 20 with per-item errors (207) and bulk-deletes', async () => {
    const tooMany = Array.from({length: 21}, (_, index) => ({identifier: `b${index}`, properties: {type: 'service'}}))
    expect((await call('POST', `${path}/bulk`, {entities: tooMany})).status).toBe(422)

    const mixed = await call('POST', `${path}/bulk?upsert=true`, {
      entities: [
        {identifier: 'bulk-1', properties: {type: 'service'}},
        {identifier: 'bulk-2', properties: {type: 'nope'}},
        {identifier: 'bulk-3', properties: {type: 'library'}},
      ],
    })
    expect(mixed.status).toBe(207)
    expect(mixed.body.entities.map((e: {index: number}) => e.index)).toEqual([0, 2])
    expect(mixed.body.errors).toMatchObject([{identifier: 'bulk-2', index: 1, statusCode: 422}])

    const clean = await call('POST', `${path}/bulk?upsert=true`, {
      entities: [{identifier: 'bulk-4', properties: {type: 'service'}}],
    })
    expect(clean.status).toBe(200)

    const deleted = await call('POST', '/v1/blueprints/Component/bulk/entities/delete', {
      entities: ['bulk-1', 'bulk-3', 'never'],
    })
    expect(deleted.body.deletedEntities.sort()).toEqual(['bulk-1', 'bulk-3'])
  })

  it('counts entities', async () => {
    const {body} = await call('GET', '/v1/blueprints/System/entities-count')
    expect(body).toEqual({count: 2, ok: true})
  })
})

describe('search', () => {
  const search = (query: unknown, extra: object = {}) =>
    call('POST', '/v1/blueprints/Widget/entities/search', {query, ...extra})
  const ids = (response: {body: {entities: {identifier: string}[]}}) => response.body.entities.map((e) => e.identifier)

  beforeAll(async () => {
    await call('POST', '/v1/blueprints', {
      identifier: 'Widget',
      relations: {parent: {many: false, required: false, target: 'Widget'}},
      schema: {
        properties: {
          expires: {format: 'timer', type: 'string'},
          n: {type: 'number'},
          name: {type: 'string'},
          tags: {items: {type: 'string'}, type: 'array'},
        },
      },
      title: 'Widget',
    })
    const past = new Date(Date.now() - 60_000).toISOString()
    const future = new Date(Date.now() + 3_600_000).toISOString()
    const widgets = [
      {identifier: 'w1', properties: {expires: past, n: 1, name: 'alpha', tags: ['a', 'b']}},
      {identifier: 'w2', properties: {expires: future, n: 2, name: 'beta', tags: ['b']}, relations: {parent: 'w1'}},
      {identifier: 'w3', properties: {n: 3, name: 'gamma'}, relations: {parent: 'w2'}},
      {identifier: 'w4', properties: {n: 4, name: 'alphabet'}},
    ]
    await call('POST', '/v1/blueprints/Widget/entities/bulk', {entities: widgets})
  })

  it.each([
    [{operator: '=', property: 'name', value: 'beta'}, ['w2']],
    [{operator: '!=', property: 'name', value: 'beta'}, ['w1', 'w3', 'w4']],
    [{operator: 'in', property: 'name', value: ['alpha', 'gamma']}, ['w1', 'w3']],
    [{operator: 'notIn', property: '$identifier', value: ['w1', 'w2']}, ['w3', 'w4']],
    [{operator: 'contains', property: 'name', value: 'lph'}, ['w1', 'w4']],
    [{operator: 'contains', property: 'tags', value: 'a'}, ['w1']],
    [{operator: 'beginsWith', property: 'name', value: 'alpha'}, ['w1', 'w4']],
    [{operator: 'endsWith', property: 'name', value: 'ta'}, ['w2']],
    [{operator: 'isEmpty', property: 'tags'}, ['w3', 'w4']],
    [{operator: 'isNotEmpty', property: 'expires'}, ['w1', 'w2']],
    [{operator: '>', property: 'n', value: 2}, ['w3', 'w4']],
    [{operator: '<', property: 'n', value: 2}, ['w1']],
    [{operator: 'isExpired', property: 'expires'}, ['w1']],
    [
      {operator: 'between', property: '$createdAt', value: {from: '2000-01-01T00:00:00Z', to: '2999-01-01T00:00:00Z'}},
      ['w1', 'w2', 'w3', 'w4'],
    ],
    [{blueprint: 'Widget', operator: 'relatedTo', value: 'w1'}, ['w2', 'w3']],
    [{blueprint: 'Widget', direction: 'upstream', operator: 'relatedTo', value: 'w3'}, ['w1', 'w2']],
  ])('%j', async (rule, expected) => {
    expect(ids(await search({combinator: 'and', rules: [rule]}))).toEqual(expected)
  })

  it('combines rules with and/or and nested groups', async () => {
    const query = {
      combinator: 'or',
      rules: [
        {operator: '=', property: 'name', value: 'gamma'},
        {
          combinator: 'and',
          rules: [
            {operator: 'contains', property: 'tags', value: 'b'},
            {operator: '>', property: 'n', value: 1},
          ],
        },
      ],
    }
    expect(ids(await search(query))).toEqual(['w2', 'w3'])
  })

  it('pages with limit and next until next is absent', async () => {
    const seen: string[] = []
    let from: string | undefined
    do {
      const page = await search({combinator: 'and', rules: []}, {limit: 3, ...(from ? {from} : {})})
      seen.push(...ids(page))
      from = page.body.next
    } while (from)
    expect(seen).toEqual(['w1', 'w2', 'w3', 'w4'])
  })

  it('searches across blueprints', async () => {
    const response = await call('POST', '/v1/entities/search', {
      combinator: 'and',
      rules: [{operator: 'beginsWith', property: '$identifier', value: 'w'}],
    })
    expect(ids(response)).toEqual(['w1', 'w2', 'w3', 'w4'])
  })

  it('rejects unknown operators with 422', async () => {
    expect((await search({combinator: 'and', rules: [{operator: 'like', property: 'name', value: 'x'}]})).status).toBe(
      422,
    )
  })
})

describe('bad requests', () => {
  it('answers 413 to a body over 1 MiB and stores nothing', async () => {
    const huge = {identifier: 'huge', properties: {type: 'service', url: 'x'.repeat(1_100_000)}}
    const response = await call('POST', '/v1/blueprints/Component/entities', huge)
    expect(response.status).toBe(413)
    expect((await call('GET', '/v1/blueprints/Component/entities/huge')).status).toBe(404)
  })

  it('answers 400 to malformed JSON', async () => {
    const response = await call('POST', '/v1/blueprints/Component/entities', undefined, {raw: '{"identifier": "x",'})
    expect(response.status).toBe(400)
    expect(response.body.error).toBe('invalid_json')
  })

  it('answers 404 to unknown routes and 422 to bad query booleans', async () => {
    const unknown = await portal.call('GET', '/v1/nothing')
    expect(unknown).toMatchObject({body: {error: 'not_found', ok: false}, status: 404})
    const bad = await call('POST', '/v1/blueprints/Component/entities?upsert=yes', {
      identifier: 'q',
      properties: {type: 'service'},
    })
    expect(bad.status).toBe(422)
  })
})

describe('action permissions and approvers', () => {
  it('match Port’s spec, requests included', async () => {
    await call('POST', '/v1/actions', {
      identifier: 'contract_approval',
      invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
      requiredApproval: {type: 'ALL'},
      trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
    })
    const change = {approve: {roles: ['Admin'], teams: [], users: []}, execute: {ownedByTeam: false, roles: ['Member']}}
    if (hasSpec) {
      expect(checkRequest('PATCH', '/v1/actions/contract_approval/permissions', change).errors ?? []).toEqual([])
    }
    expect((await call('PATCH', '/v1/actions/contract_approval/permissions', change)).status).toBe(200)
    expect((await call('GET', '/v1/actions/contract_approval/permissions')).body.permissions.execute.roles).toEqual([
      'Member',
    ])
    expect((await call('GET', '/v1/actions/missing/permissions')).status).toBe(404)
    const run = (await portal.call('POST', '/v1/actions/contract_approval/runs', {properties: {}})).body.run
    const approvers = await call('GET', `/v1/actions/runs/${run.id}/approvers?include_pending_approvers=true`)
    expect(approvers.body.approvers).toEqual([{state: 'PENDING', userId: portal.admin.clientId}])
  })
})
