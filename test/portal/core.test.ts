import {join} from 'node:path'

import Database from 'better-sqlite3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Router, type Route} from '../../src/portal/http/router.js'
import {routes} from '../../src/portal/routes/index.js'
import {PortalNotice} from '../../src/portal/notice.js'
import {request, until} from '../helpers/http.js'
import {startTestPortal, type TestPortal} from '../helpers/portal.js'

let portal: TestPortal

beforeAll(async () => {
  portal = await startTestPortal()
  await portal.call('POST', '/v1/blueprints', {
    identifier: 'svc',
    relations: {deps: {many: true, required: false, target: 'svc'}},
    schema: {properties: {code: {pattern: '^(a+)+$', type: 'string'}, tier: {type: 'string'}}},
    title: 'Service',
  })
})
afterAll(() => portal.stop())

/** How many automation events wait in the portal's outbox (read from its SQLite file). */
function queuedEvents(): number {
  const db = new Database(join(portal.dataDir, 'portal.db'), {readonly: true})
  try {
    return db.prepare<[], {n: number}>('SELECT count(*) AS n FROM automation_events').get()!.n
  } finally {
    db.close()
  }
}

/** An automation on svc entities' creation, with a jq condition. */
const whenCreated = (identifier: string, condition: string) => ({
  identifier,
  invocationMethod: {type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
  trigger: {
    condition: {expressions: [condition], type: 'JQ'},
    event: {blueprintIdentifier: 'svc', type: 'ENTITY_CREATED'},
    type: 'automation',
  },
})

describe('slow work stays out of the write lock', () => {
  it('a failing automation condition is told to the operator as a notice, not as a fault of the portal', async () => {
    const errors: unknown[] = []
    const own = await startTestPortal({onError: (error) => errors.push(error)})
    await own.call('POST', '/v1/blueprints', {identifier: 'svc', schema: {properties: {}}, title: 'Service'})
    await own.call('POST', '/v1/actions', whenCreated('broken_condition', 'error("no such field")'))
    await own.call('POST', '/v1/blueprints/svc/entities', {identifier: 'trigger'})
    await until(async () => (errors.length > 0 ? true : undefined))
    expect(errors[0]).toBeInstanceOf(PortalNotice)
    expect((errors[0] as Error).message).toMatch(/^automation "broken_condition": condition failed: .*no such field/)
    await own.stop()
  })

  it('an automation whose jq condition runs to its limit delays neither other writes nor logins', async () => {
    await portal.call('POST', '/v1/actions', whenCreated('slow_condition', '[range(1e9)] | length > 0'))
    const order: string[] = []
    const created = portal.call('POST', '/v1/blueprints/svc/entities', {identifier: 'trigger'}).then((answer) => {
      order.push('trigger written')
      return answer
    })
    expect((await created).status).toBe(201)
    // The condition is still being evaluated (it runs until jq's time limit); writes and logins go on.
    const other = await portal.call('POST', '/v1/blueprints/svc/entities', {identifier: 'other'})
    order.push('other written')
    const login = await request(portal.url, 'POST', '/v1/auth/access_token', {body: portal.admin})
    order.push('logged in')
    expect(other.status).toBe(201)
    expect(login.status).toBe(200)
    // All of that happened while the first condition was still running: both events still wait.
    expect(queuedEvents()).toBe(2)
    const {runs} = (await portal.call('GET', '/v1/actions/runs?action=slow_condition')).body
    expect(runs).toEqual([])
    expect(order).toEqual(['trigger written', 'other written', 'logged in'])
    // Its verdict (a failed condition: no run) arrives without blocking anyone; the queue empties.
    await until(() => (queuedEvents() === 0 ? true : undefined))
    await portal.call('DELETE', '/v1/actions/slow_condition')
  })
})

describe('bounded cost per request', () => {
  it('a blueprint pattern that backtracks exponentially is matched in linear time', async () => {
    const answer = await portal.call('POST', '/v1/blueprints/svc/entities', {
      identifier: 'evil-pattern',
      properties: {code: 'a'.repeat(5000) + '!'},
    })
    expect(answer.status).toBe(422)
    expect(answer.body.message).toMatch(/\/properties\/code does not match/)
  })

  it('refuses patterns a linear-time engine cannot run (lookaround, back-references)', async () => {
    const answer = await portal.call('POST', '/v1/blueprints', {
      identifier: 'lookahead',
      schema: {properties: {code: {pattern: '^(?!x)(a)\\1$', type: 'string'}}},
      title: 'Lookahead',
    })
    expect(answer.status).toBe(422)
    expect(answer.body.message).toMatch(/runs in linear time/)
  })

  it('refuses values nested deeper than the limit, naming it; what is stored stays readable', async () => {
    let deep: unknown = 'x'
    for (let i = 0; i < 3000; i++) deep = [deep]
    const answer = await portal.call('POST', '/v1/blueprints/svc/entities', {
      identifier: 'deep',
      properties: {tier: deep},
    })
    expect(answer.status).toBe(422)
    expect(answer.body.message).toMatch(/deeper than 64 levels/)
    let rules: unknown = {operator: '=', property: 'tier', value: 'x'}
    for (let i = 0; i < 500; i++) rules = {combinator: 'and', rules: [rules]}
    const search = await portal.call('POST', '/v1/blueprints/svc/entities/search', {query: rules})
    expect(search.status).toBe(422)
    expect((await portal.call('GET', '/v1/blueprints/svc/entities')).status).toBe(200)
  })

  it('caps a relation’s targets; deleting many targets rewrites each source once, one relation row per target', async () => {
    const targets = Array.from({length: 1001}, (_, i) => `t${i}`)
    const tooMany = await portal.call('POST', '/v1/blueprints/svc/entities?create_missing_related_entities=true', {
      identifier: 'hub',
      relations: {deps: targets},
    })
    expect(tooMany.status).toBe(422)
    expect(tooMany.body.message).toMatch(/1001 targets; a relation holds at most 1000/)
    const created = await portal.call('POST', '/v1/blueprints/svc/entities?create_missing_related_entities=true', {
      identifier: 'hub',
      relations: {deps: targets.slice(0, 1000)},
    })
    expect(created.status).toBe(201)
    const deleted = await portal.call('POST', '/v1/blueprints/svc/bulk/entities/delete', {
      entities: targets.slice(0, 100),
    })
    expect(deleted.status).toBe(200)
    const hub = (await portal.call('GET', '/v1/blueprints/svc/entities/hub')).body.entity
    expect(hub.relations.deps).toEqual(targets.slice(100, 1000))
    const related = await portal.store.relatedTo({blueprint: 'svc', identifier: 'hub'})
    expect(related).toHaveLength(900)
    // One rewrite of the hub for the whole request (it was one per target, each a copy of the list).
    const hubUpdates = await portal.store.audits({action: 'UPDATE', blueprint: 'svc', entity: 'hub', limit: 10})
    expect(hubUpdates).toHaveLength(1)
  })

  it('a bulk delete may name an entity together with those that require it, in any order', async () => {
    await portal.call('POST', '/v1/blueprints', {
      identifier: 'step',
      relations: {
        after: {many: false, required: false, target: 'step'},
        needs: {many: false, required: true, target: 'step'},
      },
      schema: {properties: {}},
      title: 'Step',
    })
    const step = (identifier: string, relations: object) =>
      portal.call('POST', '/v1/blueprints/step/entities', {identifier, relations})
    await step('base', {needs: 'base'})
    await step('next', {needs: 'base'})
    await step('last', {after: 'next', needs: 'base'})
    const refused = await portal.call('POST', '/v1/blueprints/step/bulk/entities/delete', {entities: ['base']})
    expect(refused.status).toBe(422)
    expect(refused.body.message).toMatch(/required by "next" \(step.needs\); delete it first or pass delete_dependents/)
    // Named together, nothing is left requiring them.
    const together = await portal.call('POST', '/v1/blueprints/step/bulk/entities/delete', {
      entities: ['base', 'last', 'next'],
    })
    expect(together.status).toBe(200)
    expect(together.body.deletedEntities).toEqual(['base', 'last', 'next'])
    await step('base', {needs: 'base'})
    await step('next', {needs: 'base'})
    const cascaded = await portal.call('POST', '/v1/blueprints/step/bulk/entities/delete?delete_dependents=true', {
      entities: ['base'],
    })
    expect(cascaded.body.deletedEntities).toEqual(['next', 'base'])
  })

  it('answers that are not paged are capped; paged search reaches every entity', async () => {
    await portal.call('POST', '/v1/blueprints', {identifier: 'many', schema: {properties: {}}, title: 'Many'})
    await portal.core.write(async () => {
      for (let i = 0; i <= 10_000; i++)
        await portal.store.putEntity({blueprint: 'many', identifier: `m${i}`, properties: {}, relations: {}}, {})
    })
    const listed = await portal.call('GET', '/v1/blueprints/many/entities')
    expect(listed.status).toBe(413)
    expect(listed.body.message).toMatch(/more than 10000 entities; page through them/)
    const searched = await portal.call('POST', '/v1/entities/search', {combinator: 'and', rules: []})
    expect(searched.status).toBe(413)
    let seen = 0
    let from: string | undefined
    do {
      const page = await portal.call('POST', '/v1/blueprints/many/entities/search', {
        limit: 1000,
        ...(from ? {from} : {}),
      })
      seen += page.body.entities.length
      from = page.body.next
    } while (from)
    expect(seen).toBe(10_001)
  })

  it('the agent queue takes at most as many run ids in one request as one claim hands out', async () => {
    const runIds = Array.from({length: 1001}, (_, i) => `r_${i}`)
    for (const path of ['/v1/actions/runs/ack', '/v1/actions/runs/release']) {
      const refused = await portal.call('PATCH', path, {runIds})
      expect(refused.status).toBe(422)
      expect(refused.body.message).toMatch(/1000/)
      expect((await portal.call('PATCH', path, {runIds: runIds.slice(0, 1000)})).status).toBe(200)
    }
    const tokens = await portal.call('POST', '/v1/idp/run-tokens', {runIds})
    expect(tokens.status).toBe(422)
    expect(tokens.body.message).toMatch(/1000/)
  })

  it('malformed percent-encoding in a path is a 400, not a 500', async () => {
    const response = await request(portal.url, 'GET', '/v1/blueprints/%E0%A4%A/entities', {
      token: await portal.token(),
    })
    expect(response.status).toBe(400)
  })
})

it('routes match the same whatever order they were added in', () => {
  const table = routes(portal.core)
  const forward = new Router().add(...table)
  const backward = new Router().add(...[...table].reverse())
  const shown = (found: {route: Route; params: Record<string, string>} | undefined) =>
    found && `${found.route.method} ${found.route.pattern} ${JSON.stringify(found.params)}`
  for (const [method, path] of [
    ['GET', '/v1/actions/runs'],
    ['GET', '/v1/actions/runs/r_1'],
    ['POST', '/v1/actions/runs/claim-pending'],
    ['PATCH', '/v1/actions/runs/ack'],
    ['GET', '/v1/actions/deploy'],
    ['POST', '/v1/actions/deploy/runs'],
    ['POST', '/v1/blueprints/svc/entities/search'],
    ['POST', '/v1/blueprints/svc/entities/bulk'],
    ['GET', '/v1/blueprints/svc/entities/search'],
  ] as const) {
    expect(shown(backward.match(method, path)), `${method} ${path}`).toBe(shown(forward.match(method, path)))
  }
  expect(forward.match('GET', '/v1/actions/runs')?.route.pattern).toBe('/v1/actions/runs')
  expect(forward.match('POST', '/v1/actions/runs/claim-pending')?.route.pattern).toBe('/v1/actions/runs/claim-pending')
})

it('runs on an injected clock: a 5-day TTL expires when the clock says so, not after 5 days', async () => {
  let now = Date.parse('2026-11-30T12:00:00Z')
  // Tokens outlive the jump: the helper keeps the one it got first.
  const clocked = await startTestPortal({clock: () => new Date(now), tokenTtlSeconds: 30 * 86_400})
  try {
    await clocked.call('POST', '/v1/blueprints', {
      identifier: 'env',
      schema: {properties: {ttl: {format: 'timer', type: 'string'}}},
      title: 'Env',
    })
    await clocked.call('POST', '/v1/actions', {
      identifier: 'env_ttl',
      invocationMethod: {
        method: 'DELETE',
        synchronized: true,
        type: 'WEBHOOK',
        url: 'https://api.port.io/v1/blueprints/env/entities/{{ .event.context.entityIdentifier }}',
      },
      trigger: {
        event: {blueprintIdentifier: 'env', propertyIdentifier: 'ttl', type: 'TIMER_PROPERTY_EXPIRED'},
        type: 'automation',
      },
    })
    const created = await clocked.call('POST', '/v1/blueprints/env/entities', {
      identifier: 'five-days',
      properties: {ttl: new Date(now + 5 * 86_400_000).toISOString()},
    })
    expect(created.body.entity).toMatchObject({identifier: 'five-days'})
    clocked.core.timers.kick()
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect((await clocked.call('GET', '/v1/blueprints/env/entities/five-days')).status).toBe(200)

    now += 5 * 86_400_000 + 1000
    clocked.core.timers.kick()
    await until(async () =>
      (await clocked.call('GET', '/v1/blueprints/env/entities/five-days')).status === 404 ? true : undefined,
    )
    const {runs} = (await clocked.call('GET', '/v1/actions/runs?action=env_ttl')).body
    expect(runs).toMatchObject([{createdAt: new Date(now).toISOString(), status: 'SUCCESS'}])
  } finally {
    await clocked.stop()
  }
})
