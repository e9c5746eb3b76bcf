import {afterAll, describe, expect, it} from 'vitest'

import pg from 'pg'

import {runCli} from '../helpers/cli.js'
import {dropDatabases, freshDatabase, postgresServer} from '../helpers/postgres.js'
import {call, serve, tokenFor, withPassword} from '../helpers/postgres-portal.js'
import {until} from '../helpers/http.js'
import {tcpRelay} from '../helpers/tcp-relay.js'

const server = await postgresServer()

describe.skipIf(!server)('PostgreSQL: idp portal serve --store postgres', () => {
  afterAll(() => dropDatabases(server!))

  it('two processes on one database: one admin, shared data and tokens, a revocation seen by both', async () => {
    const {password, url} = withPassword(await freshDatabase(server!))
    const portals = await Promise.all([serve(url), serve(url)])
    try {
      // Started together, they migrated once and made one admin (saved by whichever made it).
      const creators = portals.filter((portal) => {
        try {
          return Boolean(portal.credentials().clientId)
        } catch {
          return false
        }
      })
      expect(creators).toHaveLength(1)
      const [a, b] = [creators[0]!, portals.find((portal) => portal !== creators[0])!]
      const admin = await a.token()
      for (const portal of portals) {
        expect(await (await fetch(`${portal.url}/healthz`)).json()).toEqual({ok: true, status: 'up'})
        expect(await (await fetch(`${portal.url}/readyz`)).json()).toEqual({ok: true, status: 'ready'})
      }

      const blueprint = {identifier: 'svc', schema: {properties: {tier: {type: 'string'}}}, title: 'Service'}
      expect((await call(a, admin, 'POST', '/v1/blueprints', blueprint)).status).toBe(201)
      const entity = {identifier: 'api', properties: {tier: 'gold'}}
      expect((await call(b, admin, 'POST', '/v1/blueprints/svc/entities', entity)).status).toBe(201)
      const search = {combinator: 'and', rules: [{operator: '=', property: 'tier', value: 'gold'}]}
      const found = await call(a, admin, 'POST', '/v1/blueprints/svc/entities/search', {query: search})
      expect(found.body.entities).toMatchObject([{identifier: 'api', properties: {tier: 'gold'}}])

      const created = await call(a, admin, 'POST', '/v1/idp/credentials', {role: 'member'})
      const member = created.body.credential as {clientId: string; clientSecret: string}
      const memberToken = await tokenFor(b, member)
      expect((await call(b, memberToken, 'GET', '/v1/blueprints/svc')).status).toBe(200)
      await call(a, admin, 'DELETE', `/v1/idp/credentials/${member.clientId}`)
      expect((await call(b, memberToken, 'GET', '/v1/blueprints/svc')).status).toBe(401)

      for (const portal of portals) {
        expect(await portal.stop()).toBe(0)
        expect(portal.log()).not.toContain(password)
      }
    } finally {
      await Promise.all(portals.map((portal) => portal.kill()))
    }
  })

  it('answers 503 while its database is down, and recovers by itself when it returns', async () => {
    const database = new URL(withPassword(await freshDatabase(server!)).url)
    const relay = await tcpRelay(Number(database.port))
    database.host = `127.0.0.1:${relay.port}`
    const portal = await serve(database.toString())
    try {
      const admin = await portal.token()
      expect((await call(portal, admin, 'GET', '/v1/blueprints')).status).toBe(200)

      await relay.cut()
      expect(await fetch(`${portal.url}/healthz`).then((response) => response.status)).toBe(200)
      const ready = await fetch(`${portal.url}/readyz`)
      expect([ready.status, await ready.json()]).toEqual([
        503,
        {error: 'database_unavailable', message: "The portal's database does not answer", ok: false},
      ])
      const refused = await call(portal, admin, 'GET', '/v1/blueprints')
      expect(refused).toMatchObject({body: {error: 'database_unavailable', ok: false}, status: 503})
      expect(refused.body.message).not.toContain(database.password)

      await relay.restore()
      expect(await fetch(`${portal.url}/readyz`).then((response) => response.status)).toBe(200)
      expect((await call(portal, admin, 'GET', '/v1/blueprints')).status).toBe(200)
      expect(portal.log()).not.toContain('unexpected error')
    } finally {
      await portal.kill()
      await relay.close()
    }
  })

  it('idp portal migrate: migrates once, then has nothing to do; refuses a newer database; never prints the password', async () => {
    const {password, url} = withPassword(await freshDatabase(server!))
    const migrate = (env: Record<string, string> = {}) =>
      runCli(['portal', 'migrate', '--json'], {env: {IDP_PORTAL_DATABASE_URL: url, ...env}})
    const first = await migrate()
    expect(first.code).toBe(0)
    const shown = new URL(url)
    shown.password = '***'
    expect(first.json()).toEqual({database: shown.toString(), from: 0, to: expect.any(Number)})
    const {to} = first.json() as {to: number}
    expect((await migrate()).json()).toEqual({database: shown.toString(), from: to, to})

    const client = new pg.Client({connectionString: url})
    await client.connect()
    await client.query('INSERT INTO idp_schema_version (version) VALUES ($1)', [to + 1])
    await client.end()
    const newer = await migrate()
    expect(newer.code).toBe(2)
    expect(newer.json().error).toMatchObject({
      code: 'database_too_new',
      message: `${shown.toString()}: this portal database has schema version ${to + 1}, newer than this idp knows (${to}); upgrade idp`,
    })
    const served = await runCli(['portal', 'serve', '--port', '0', '--store', 'postgres', '--json'], {
      env: {IDP_PORTAL_DATABASE_URL: url},
    })
    expect(served.code).toBe(2)

    const unreachable = new URL(url)
    unreachable.port = '1'
    const refused = await migrate({IDP_PORTAL_DATABASE_URL: unreachable.toString()})
    expect(refused.code).toBe(7)
    expect(refused.json().error.code).toBe('database_unavailable')
    for (const result of [first, newer, served, refused]) expect(result.stdout + result.stderr).not.toContain(password)
  })

  it('two processes: each queued run is claimed by one agent, each timer fires once', async () => {
    const {url} = withPassword(await freshDatabase(server!))
    const first = await serve(url)
    const second = await serve(url)
    try {
      const admin = await first.token()
      const [a, b] = [first, second]
      await call(a, admin, 'POST', '/v1/actions', {
        identifier: 'job',
        invocationMethod: {payload: {}, type: 'KAFKA'},
        trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
      })
      const started = await Promise.all(
        Array.from({length: 30}, (_, index) =>
          call(index % 2 ? a : b, admin, 'POST', '/v1/actions/job/runs', {properties: {}}),
        ),
      )
      const runIds = started.map((answer) => (answer.body.run as {id: string}).id)
      // Agents poll both processes at once, a few runs at a time, until the queue is empty.
      const claimed: string[] = []
      for (let round = 0; claimed.length < runIds.length && round < 50; round++) {
        const answers = await Promise.all(
          [a, b, a, b].map((portal, agent) =>
            call(portal, admin, 'POST', '/v1/actions/runs/claim-pending', {installationId: `agent-${agent}`, limit: 3}),
          ),
        )
        for (const answer of answers) claimed.push(...(answer.body.runs as {id: string}[]).map((run) => run.id))
      }
      expect(claimed.sort()).toEqual(runIds.sort())

      await call(a, admin, 'POST', '/v1/blueprints', {
        identifier: 'box',
        schema: {properties: {ttl: {format: 'timer', type: 'string'}}},
        title: 'Box',
      })
      await call(b, admin, 'POST', '/v1/actions', {
        identifier: 'box_ttl',
        invocationMethod: {
          blueprintIdentifier: 'box',
          mapping: {identifier: '{{ .event.context.entityIdentifier }}', properties: {ttl: null}},
          type: 'UPSERT_ENTITY',
        },
        trigger: {
          event: {blueprintIdentifier: 'box', propertyIdentifier: 'ttl', type: 'TIMER_PROPERTY_EXPIRED'},
          type: 'automation',
        },
      })
      // Each process sets half the timers, so both schedulers have timers to fire.
      const ttl = new Date(Date.now() + 1500).toISOString()
      await Promise.all(
        Array.from({length: 20}, (_, index) =>
          call(index % 2 ? a : b, admin, 'POST', '/v1/blueprints/box/entities', {
            identifier: `box-${index}`,
            properties: {ttl},
          }),
        ),
      )
      const runs = await until(async () => {
        const answer = await call(a, admin, 'GET', '/v1/actions/runs?action=box_ttl&limit=100')
        const found = answer.body.runs as {status: string}[]
        return found.length >= 20 && found.every((run) => run.status === 'SUCCESS') ? found : undefined
      }, 20_000)
      expect(runs).toHaveLength(20)
      const boxes = await call(b, admin, 'GET', '/v1/blueprints/box/entities')
      expect((boxes.body.entities as {properties: {ttl: unknown}}[]).map((box) => box.properties.ttl ?? null)).toEqual(
        Array.from({length: 20}, () => null),
      )
    } finally {
      await Promise.all([first.kill(), second.kill()])
    }
  }, 90_000)

  it('a watcher long-polling one process wakes when the run changes through another (LISTEN/NOTIFY)', async () => {
    const {url} = withPassword(await freshDatabase(server!))
    const a = await serve(url)
    const b = await serve(url)
    try {
      const admin = await a.token()
      await call(a, admin, 'POST', '/v1/actions', {
        identifier: 'job',
        invocationMethod: {payload: {}, type: 'KAFKA'},
        trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
      })
      const created = (await call(a, admin, 'POST', '/v1/actions/job/runs', {properties: {}})).body.run as {id: string}
      // Once queued for its backend, the run stays as it is until it is patched.
      const run = await until(async () => {
        const current = (await call(b, admin, 'GET', `/v1/actions/runs/${created.id}`)).body.run
        return (current as {pendingExecution?: boolean}).pendingExecution
          ? (current as {id: string; updatedAt: string})
          : undefined
      })
      const since = encodeURIComponent(run.updatedAt)
      const started = Date.now()
      const watching = call(b, admin, 'GET', `/v1/actions/runs/${run.id}?idp_wait=30&idp_since=${since}`)
      // The watcher is waiting on B once B has answered a later request (requests are handled in order).
      await call(b, admin, 'GET', '/v1/blueprints')
      await call(a, admin, 'PATCH', `/v1/actions/runs/${run.id}`, {statusLabel: 'halfway'})
      const woken = await watching
      expect(woken.body.run).toMatchObject({id: run.id, statusLabel: 'halfway'})
      // Woken by the change, not by the end of its 30 s wait (a bound far from any flake).
      expect(Date.now() - started).toBeLessThan(20_000)
    } finally {
      await Promise.all([a.kill(), b.kill()])
    }
  }, 60_000)
})
