import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {HttpTransport} from '../../src/api/http.js'
import {PortClient} from '../../src/api/port-client.js'
import {TokenProvider} from '../../src/api/token.js'
import {ExitCode, IdpError} from '../../src/errors.js'
import type {Blueprint} from '../../src/model/port.js'
import {apiPath, apiRequest, callApi} from '../../src/services/api-call.js'
import {auditFilter, pastTime} from '../../src/services/audit.js'
import {
  bulkFailure,
  checkEntities,
  entityFromFlags,
  readEntityFile,
  readableBlueprint,
  uncheckedEntities,
  upsertMany,
  upsertOne,
} from '../../src/services/entity-upsert.js'
import {logArguments, requireRunId, runChanges} from '../../src/services/run-report.js'
import {jqLines} from '../../src/jq/filter.js'
import {startTestPortal, tempDir, type TestPortal} from '../helpers/portal.js'

/** What a promise failed with, as idp reports it: the exit code and the message. */
async function failure(work: Promise<unknown> | (() => unknown)) {
  try {
    await (typeof work === 'function' ? work() : work)
  } catch (error) {
    if (error instanceof IdpError) return {exitCode: error.exitCode, message: error.message}
    throw error
  }
  throw new Error('expected a failure')
}

const SERVICE: Partial<Blueprint> = {
  identifier: 'service',
  relations: {
    system: {many: false, required: false, target: 'system'},
    uses: {many: true, required: false, target: 'system'},
  },
  schema: {
    properties: {
      config: {type: 'object'},
      live: {type: 'boolean'},
      replicas: {type: 'number'},
      tags: {items: {type: 'string'}, type: 'array'},
      tier: {enum: ['gold', 'silver'], type: 'string'},
    },
    required: ['tier'],
  },
  title: 'Service',
}

let portal: TestPortal
let client: PortClient
let blueprint: Blueprint

async function clientFor(url: string, credentials: {clientId: string; clientSecret: string} | string) {
  const transport = await HttpTransport.create({baseUrl: url, retryBaseMs: 1, retryMaxMs: 20, userAgent: 'idp-test'})
  const tokens = new TokenProvider({
    apiUrl: url,
    ...(typeof credentials === 'string'
      ? {accessToken: credentials, credentials: undefined}
      : {credentials: {...credentials, source: 'profile' as const}}),
    loginHint: 'log in',
    transport,
    unreachableHint: 'start it',
  })
  return new PortClient({apiUrl: url, tokens, transport, unreachableHint: 'start it'})
}

beforeAll(async () => {
  portal = await startTestPortal()
  client = await clientFor(portal.url, portal.admin)
  await client.blueprints.create({identifier: 'system', schema: {properties: {}}, title: 'System'})
  blueprint = await client.blueprints.create(SERVICE)
  for (const id of ['cart', 'pay']) await client.entities.create('system', {identifier: id, title: id})
  await client.entities.create('_team', {identifier: 'payments', title: 'Payments'})
})
afterAll(async () => {
  await client.close()
  await portal.stop()
})

describe('idp entity upsert', () => {
  it('types --property values by the blueprint and collects repeated many-relations', async () => {
    const entity = entityFromFlags(
      {
        identifier: 'checkout',
        property: ['replicas=3', 'live=true', 'tags=a', 'tags=b', 'config={"x":1}', 'tier=gold'],
        relation: ['system=cart', 'uses=cart', 'uses=pay'],
        team: ['payments'],
        title: 'Checkout',
      },
      blueprint,
    )
    expect(entity).toEqual({
      identifier: 'checkout',
      properties: {config: {x: 1}, live: true, replicas: 3, tags: ['a', 'b'], tier: 'gold'},
      relations: {system: 'cart', uses: ['cart', 'pay']},
      team: ['payments'],
      title: 'Checkout',
    })
    const stored = await upsertOne(client, 'service', entity, {merge: false})
    expect(stored.properties).toMatchObject({live: true, replicas: 3, tags: ['a', 'b']})
    expect(stored.relations.uses).toEqual(['cart', 'pay'])
  })

  it('names the flag for a value of the wrong type, a mistyped name, and a value outside an enum', async () => {
    expect(await failure(() => entityFromFlags({property: ['replicas=three']}, blueprint))).toEqual({
      exitCode: ExitCode.USAGE,
      message: '--property replicas=three: "replicas" is a number.',
    })
    expect((await failure(() => entityFromFlags({property: ['replica=3']}, blueprint))).message).toContain(
      'Did you mean "replicas"',
    )
    expect((await failure(() => entityFromFlags({relation: ['system=a', 'system=b']}, blueprint))).message).toContain(
      'is not many',
    )
    const flagged = entityFromFlags({identifier: 'x', property: ['tier=bronze']}, blueprint)
    const problem = await failure(checkEntities([flagged], blueprint, {merge: false, source: {kind: 'flags'}}))
    expect(problem.exitCode).toBe(ExitCode.VALIDATION)
    expect(problem.message).toContain('--property tier: must be one of "gold", "silver"')
  })

  it('--merge changes only what is given and leaves out nothing required', async () => {
    await upsertOne(client, 'service', {identifier: 'merged', properties: {replicas: 1, tier: 'gold'}}, {merge: false})
    const change = entityFromFlags({identifier: 'merged', property: ['replicas=2']}, blueprint)
    // Without --merge the required "tier" is missing; with it, tier is kept.
    expect(
      (await failure(checkEntities([change], blueprint, {merge: false, source: {kind: 'flags'}}))).message,
    ).toContain('required')
    const [checked] = await checkEntities([change], blueprint, {merge: true, source: {kind: 'flags'}})
    const stored = await upsertOne(client, 'service', checked!, {merge: true})
    expect(stored.properties).toMatchObject({replicas: 2, tier: 'gold'})
  })

  it('points at file, line, column and JSON pointer for each bad item, before anything is sent', async () => {
    const file = join(tempDir(), 'services.json')
    const items = [
      {identifier: 'ok', properties: {tier: 'gold'}},
      {identifier: 'bad', properties: {replicas: 'two', tier: 'gold'}},
    ]
    writeFileSync(file, JSON.stringify(items, null, 2))
    const {entities, source} = await readEntityFile(file)
    const problem = await failure(checkEntities(entities, blueprint, {merge: false, source}))
    expect(problem.exitCode).toBe(ExitCode.VALIDATION)
    expect(problem.message).toContain(`${file}:11:7: /1/properties/replicas must be number`)
    await expect(client.entities.get('service', 'ok')).rejects.toMatchObject({status: 404})

    writeFileSync(file, '{"identifier": "x",\n "title": "y" "tier": 1}')
    expect((await failure(readEntityFile(file))).message).toMatch(new RegExp(`^${file}:2:15: not valid JSON`))
  })

  it('writes an array in chunks of 20 with each failed item by its index, and ties the writes to a run', async () => {
    const action = {
      identifier: 'report',
      invocationMethod: {type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook', agent: true},
      trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
    }
    await client.actions.create(action as never)
    const run = await client.runs.create('report', {properties: {}})
    const entities = Array.from({length: 45}, (_, index) => ({
      identifier: `bulk-${index}`,
      properties: {tier: 'silver'},
      relations: {system: index === 31 ? 'nowhere' : 'cart'},
    }))
    const outcome = await upsertMany(client, 'service', entities, {runId: run.id})
    expect(outcome.entities).toHaveLength(44)
    expect(outcome.errors).toEqual([expect.objectContaining({identifier: 'bulk-31', index: 31, status: 404})])
    expect(bulkFailure(outcome).exitCode).toBe(ExitCode.PARTIAL)
    const audits = await client.audit.list({entity: 'bulk-40', limit: 5})
    expect(audits[0]?.context.runId).toBe(run.id)
  })

  it('a request refused as a whole fails its own items only; the other requests are written', async () => {
    const big = 'x'.repeat(60_000) // 20 of these are over the portal's 1 MiB body limit
    const entities = Array.from({length: 25}, (_, index) => ({
      identifier: `big-${index}`,
      properties: {tier: 'gold'},
      title: index < 20 ? big : 'small',
    }))
    const outcome = await upsertMany(client, 'service', entities, {})
    expect(outcome.entities.map((item) => item.index)).toEqual([20, 21, 22, 23, 24])
    expect(outcome.errors).toHaveLength(20)
    expect(outcome.errors[0]).toMatchObject({identifier: 'big-0', index: 0, status: 413})
    expect(bulkFailure(outcome).exitCode).toBe(ExitCode.PARTIAL)
  })

  it("types nothing when a run's token may not read the blueprint, and the portal still checks", async () => {
    const run = await client.runs.create('report', {properties: {}})
    const [token] = [...(await client.runs.tokens([run.id])).values()]
    const handler = await clientFor(portal.url, token!)
    try {
      expect(await readableBlueprint(handler, 'service')).toBeUndefined()
      const entity = entityFromFlags({identifier: 'by-run', property: ['replicas=3', 'tier=gold']}, undefined)
      expect(entity.properties).toEqual({replicas: 3, tier: 'gold'})
      expect(uncheckedEntities([{blueprint: 'service', identifier: 'a'}], 'service')).toEqual([{identifier: 'a'}])
      expect(() => uncheckedEntities([{blueprint: 'system', identifier: 'a'}], 'service')).toThrow(/names blueprint/)
      const stored = await upsertOne(handler, 'service', entity, {runId: run.id})
      expect(stored.properties).toMatchObject({replicas: 3})
      const refused = await failure(
        upsertOne(handler, 'service', {identifier: 'by-run', properties: {tier: 'x'}}, {runId: run.id}),
      )
      expect(refused.exitCode).toBe(ExitCode.VALIDATION)
    } finally {
      await handler.close()
    }
  })
})

describe('idp run log and run update', () => {
  it('takes the run id from IDP_RUN_ID when the first word is not one', () => {
    expect(logArguments(['r_abc', 'deploying', 'now'], {})).toEqual({message: 'deploying now', runId: 'r_abc'})
    expect(logArguments(['deploying', 'now'], {IDP_RUN_ID: 'r_env'})).toEqual({
      message: 'deploying now',
      runId: 'r_env',
    })
    expect(logArguments(['r_env', 'x'], {PORT_RUN_ID: 'r_env'})).toEqual({message: 'x', runId: 'r_env'})
    expect(requireRunId(undefined, {PORT_RUN_ID: 'r_port'})).toBe('r_port')
    expect(() => requireRunId(undefined, {})).toThrow(/IDP_RUN_ID/)
    expect(() => logArguments(['r_abc'], {})).toThrow(/No message/)
  })

  it('accepts --status in any case and reports on a run of the real portal', async () => {
    expect(() => runChanges({status: 'done'})).toThrow(/SUCCESS or FAILURE/)
    expect(() => runChanges({})).toThrow(/Nothing to update/)
    const run = await client.runs.create('report', {properties: {}})
    await client.runs.addLog(run.id, {message: 'step 1'})
    const patched = await client.runs.patch(
      run.id,
      runChanges({'status-label': 'Deploying', link: ['https://ci.example/1', 'https://ci.example/2']}),
    )
    expect(patched).toMatchObject({link: ['https://ci.example/1', 'https://ci.example/2'], statusLabel: 'Deploying'})
    const ended = await client.runs.patch(run.id, runChanges({status: 'success', summary: 'Deployed'}))
    expect(ended).toMatchObject({status: 'SUCCESS', summary: 'Deployed'})
    expect((await client.runs.logs(run.id, 0)).map((log) => log.message)).toContain('step 1')
  })

  it('a report repeated on an ended run converges when the run already holds it, and is refused when not', async () => {
    const run = await client.runs.create('report', {properties: {}})
    await client.runs.patch(run.id, runChanges({link: ['https://ci.example/9'], status: 'SUCCESS', summary: 'Done'}))
    // As a retry whose first attempt landed: Port answers 422, the run already says so.
    const again = await client.runs.patch(run.id, runChanges({link: ['https://ci.example/9'], status: 'SUCCESS'}))
    expect(again).toMatchObject({status: 'SUCCESS', summary: 'Done'})
    await expect(client.runs.patch(run.id, runChanges({status: 'FAILURE'}))).rejects.toMatchObject({status: 422})
    await expect(client.runs.patch(run.id, runChanges({status: 'SUCCESS', summary: 'Other'}))).rejects.toMatchObject({
      status: 422,
    })
  })
})

describe('idp api', () => {
  it('reads a path with or without /v1 and a full URL on the portal only', () => {
    expect(apiPath('blueprints', portal.url)).toEqual({path: '/v1/blueprints', query: {}})
    expect(apiPath('/v1/blueprints/x/entities?limit=5&a=1&a=2', portal.url)).toEqual({
      path: '/v1/blueprints/x/entities',
      query: {a: ['1', '2'], limit: ['5']},
    })
    expect(apiPath(`${portal.url}/v1/audit-log`, portal.url).path).toBe('/v1/audit-log')
    expect(() => apiPath('https://elsewhere.example/v1/blueprints', portal.url)).toThrow(/not on/)
  })

  it('builds fields as gh does: strings, typed values, arrays and nesting; GET puts them in the query', async () => {
    const post = await apiRequest(
      'blueprints/service/entities',
      {
        field: ['properties[replicas]=3', 'properties[live]=true', 'upsert=null'],
        rawField: ['identifier=007', 'team[]=a', 'team[]=b'],
      },
      portal.url,
    )
    expect(post).toMatchObject({
      body: {identifier: '007', properties: {live: true, replicas: 3}, team: ['a', 'b'], upsert: null},
      method: 'POST',
    })
    const get = await apiRequest('audit-log', {field: ['limit=5'], method: 'get', rawField: ['entity=x']}, portal.url)
    expect(get).toMatchObject({body: undefined, method: 'GET', query: {entity: 'x', limit: '5'}})
    expect((await failure(apiRequest('x', {method: 'BREW'}, portal.url))).exitCode).toBe(ExitCode.USAGE)
  })

  it('follows "next" with --paginate and exits by status on errors', async () => {
    const request = await apiRequest('/v1/blueprints/service/entities/search', {field: ['limit=10']}, portal.url)
    const one = (await callApi(client, request)) as {entities: unknown[]; next?: string}
    expect(one.entities).toHaveLength(10)
    expect(one.next).toEqual(expect.any(String))
    const all = (await callApi(client, request, true)) as {entities: unknown[]; next?: string}
    expect(all.entities.length).toBe(await client.entities.count('service'))
    expect(all.next).toBeUndefined()

    expect((await failure(callApi(client, await apiRequest('blueprints/nope', {}, portal.url)))).exitCode).toBe(
      ExitCode.NOT_FOUND,
    )
    const invalid = await apiRequest('blueprints/service/entities', {rawField: ['identifier=x']}, portal.url)
    expect((await failure(callApi(client, invalid))).exitCode).toBe(ExitCode.VALIDATION)
  })
})

describe('idp audit', () => {
  const now = new Date('2026-06-01T12:00:00Z')

  it('reads --from and --to as ISO times or how long ago', () => {
    expect(pastTime('--from', '1h', now)).toBe('2026-06-01T11:00:00.000Z')
    expect(pastTime('--from', '2 days', now)).toBe('2026-05-30T12:00:00.000Z')
    expect(pastTime('--from', '30m ago', now)).toBe('2026-06-01T11:30:00.000Z')
    expect(pastTime('--to', '2026-05-01', now)).toBe('2026-05-01T00:00:00.000Z')
    expect(() => pastTime('--from', 'soonish', now)).toThrow(/--from soonish: not a time/)
    expect(() => auditFilter({from: '1h', limit: 5, to: '2h'}, now)).toThrow(/after --to/)
    expect(auditFilter({action: 'update', limit: 5, status: 'failure'}, now)).toMatchObject({
      action: 'UPDATE',
      status: 'FAILURE',
    })
  })

  it("filters the real portal's log by entity, action and time", async () => {
    const since = new Date(Date.now() - 1000)
    await upsertOne(client, 'service', {identifier: 'audited', properties: {tier: 'gold'}}, {})
    await upsertOne(client, 'service', {identifier: 'audited', properties: {tier: 'silver'}}, {merge: true})
    const filter = auditFilter({action: 'update', blueprint: 'service', entity: 'audited', limit: 10}, new Date())
    const updates = await client.audit.list({...filter, from: since.toISOString()})
    expect(updates.map((record) => record.action)).toEqual(['UPDATE'])
    const later = await client.audit.list(
      auditFilter({entity: 'audited', from: '2026-01-01', limit: 10, to: since.toISOString()}, new Date()),
    )
    expect(later).toEqual([])
  })
})

describe('--jq', () => {
  it('prints every output, strings raw, the rest as JSON (indented on a terminal)', async () => {
    const input = {
      entities: [
        {identifier: 'a', n: 1},
        {identifier: 'b', n: 2},
      ],
    }
    expect(await jqLines('.entities[].identifier', input, false)).toEqual(['a', 'b'])
    expect(await jqLines('.entities[0]', input, false)).toEqual(['{"identifier":"a","n":1}'])
    expect(await jqLines('.entities[0]', input, true)).toEqual(['{\n  "identifier": "a",\n  "n": 1\n}'])
    expect(await jqLines('empty', input, false)).toEqual([])
    const bad = await failure(jqLines('.entities[', input, false))
    expect(bad.exitCode).toBe(ExitCode.USAGE)
    expect(bad.message).toMatch(/^--jq "\.entities\[": syntax error/)
  })
})
