import {createServer, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import pg from 'pg'
import {afterAll, describe, expect, it} from 'vitest'

import {servePortal, type ServedPortal} from '../helpers/e2e.js'
import {request, until} from '../helpers/http.js'
import {dropDatabases, freshDatabase, postgresServer} from '../helpers/postgres.js'
import {tcpRelay} from '../helpers/tcp-relay.js'

const server = await postgresServer()

const serve = (url: string, leaseMs?: number) =>
  servePortal({
    portalEnv: {
      IDP_PORTAL_DATABASE_URL: url,
      IDP_PORTAL_STORE: 'postgres',
      ...(leaseMs === undefined ? {} : {IDP_PORTAL_LEASE_MS: String(leaseMs)}),
    },
  })

const call = async (portal: ServedPortal, token: string, method: string, path: string, body?: unknown) =>
  request(portal.url, method, path, {body, token})

/**
 * A webhook receiver that counts what it receives by `key` (from the JSON body). With `holdFirst`
 * the first request for each key waits with no answer (a slow delivery) until the test ends.
 */
async function receiver(options: {holdFirst?: boolean} = {}) {
  const received = new Map<string, number>()
  const waiting: ServerResponse[] = []
  const http = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      const {key} = JSON.parse(body) as {key: string}
      const count = (received.get(key) ?? 0) + 1
      received.set(key, count)
      if (options.holdFirst && count === 1) return void waiting.push(res)
      res.writeHead(200, {'content-type': 'application/json'}).end('{}')
    })
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  return {
    close() {
      for (const res of waiting) res.destroy()
      http.closeAllConnections()
      return new Promise<void>((resolve) => http.close(() => resolve()))
    },
    received,
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
  }
}

/** A self-service action whose webhook sends `{key: <run id>}` and ends the run with its answer. */
const hookAction = (url: string) => ({
  identifier: 'hook',
  invocationMethod: {body: {key: '{{ .run.id }}'}, synchronized: true, type: 'WEBHOOK', url: `${url}/hook`},
  trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
})

const runStatus = async (portal: ServedPortal, token: string, id: string) =>
  ((await call(portal, token, 'GET', `/v1/actions/runs/${id}`)).body.run as {status: string}).status

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<[T, ...T[]]> {
  const client = new pg.Client({connectionString: url})
  await client.connect()
  try {
    return (await client.query<T>(sql)).rows as [T, ...T[]]
  } finally {
    await client.end()
  }
}

describe.skipIf(!server)('PostgreSQL: background work across portal processes', () => {
  afterAll(() => dropDatabases(server!))

  it('two processes: each webhook delivery is sent once, each automation event evaluated once', async () => {
    const hooks = await receiver()
    const url = await freshDatabase(server!)
    const [a, b] = [await serve(url), await serve(url)]
    try {
      const admin = await a.token()
      await call(a, admin, 'POST', '/v1/actions', hookAction(hooks.url))
      await call(a, admin, 'POST', '/v1/blueprints', {
        identifier: 'svc',
        schema: {properties: {tier: {type: 'string'}}},
        title: 'Service',
      })
      await call(b, admin, 'POST', '/v1/actions', {
        identifier: 'on_gold',
        invocationMethod: {
          body: {key: '{{ .event.context.entityIdentifier }}'},
          synchronized: true,
          type: 'WEBHOOK',
          url: `${hooks.url}/gold`,
        },
        trigger: {
          condition: {expressions: ['.diff.after.properties.tier == "gold"'], type: 'JQ'},
          event: {blueprintIdentifier: 'svc', type: 'ENTITY_CREATED'},
          type: 'automation',
        },
      })

      const outboxEmpty = () =>
        until(async () => {
          const [{n}] = await query<{n: string}>(url, 'SELECT count(*) AS n FROM automation_events')
          return n === '0' ? true : undefined
        }, 20_000)
      // Each process's jq worker starts with its first condition: on a busy machine that start can
      // outlast jq's 2 s limit, which would fail the condition, so it happens before the test proper.
      await call(a, admin, 'POST', '/v1/blueprints/svc/entities', {identifier: 'warm-a', properties: {tier: 'x'}})
      await call(b, admin, 'POST', '/v1/blueprints/svc/entities', {identifier: 'warm-b', properties: {tier: 'x'}})
      await outboxEmpty()

      const started = await Promise.all(
        Array.from({length: 40}, (_, index) =>
          call(index % 2 ? a : b, admin, 'POST', '/v1/actions/hook/runs', {properties: {}}),
        ),
      )
      const runIds = started.map((answer) => (answer.body.run as {id: string}).id)
      await Promise.all(
        Array.from({length: 20}, (_, index) =>
          call(index % 2 ? a : b, admin, 'POST', '/v1/blueprints/svc/entities', {
            identifier: `svc-${index}`,
            properties: {tier: index % 4 === 0 ? 'gold' : 'silver'},
          }),
        ),
      )

      for (const id of runIds)
        await until(async () => ((await runStatus(a, admin, id)) === 'SUCCESS' ? true : undefined))
      expect(runIds.map((id) => hooks.received.get(id))).toEqual(runIds.map(() => 1))
      // Once the outbox is empty every event has been evaluated: no run can be added later.
      await outboxEmpty()
      const gold = (await call(b, admin, 'GET', '/v1/actions/runs?action=on_gold&limit=100')).body.runs as {
        id: string
      }[]
      expect(gold).toHaveLength(5)
      for (const run of gold)
        await until(async () => ((await runStatus(a, admin, run.id)) === 'SUCCESS' ? true : undefined))
      expect(Object.fromEntries([...hooks.received].filter(([key]) => key.startsWith('svc-')))).toEqual({
        'svc-0': 1,
        'svc-12': 1,
        'svc-16': 1,
        'svc-4': 1,
        'svc-8': 1,
      })
    } finally {
      await Promise.all([a.kill(), b.kill()])
      await hooks.close()
    }
  }, 90_000)

  it('kill -9 of a process holding a slow delivery: the other sends it once the lease lapses, never while it lives', async () => {
    const hooks = await receiver({holdFirst: true})
    const url = await freshDatabase(server!)
    const a = await serve(url, 1500)
    let b: ServedPortal | undefined
    try {
      const admin = await a.token()
      await call(a, admin, 'POST', '/v1/actions', hookAction(hooks.url))
      const run = (await call(a, admin, 'POST', '/v1/actions/hook/runs', {properties: {}})).body.run as {id: string}
      // A is sending it (the receiver holds the request unanswered); B starts meanwhile.
      await until(() => (hooks.received.get(run.id) === 1 ? true : undefined))
      b = await serve(url, 1500)
      // A renews its lease while the request is in flight: B leaves the delivery alone for longer
      // than a lease.
      await new Promise((resolve) => setTimeout(resolve, 4000))
      expect(hooks.received.get(run.id)).toBe(1)

      await a.kill()
      await until(async () => ((await runStatus(b!, admin, run.id)) === 'SUCCESS' ? true : undefined), 30_000)
      expect(hooks.received.get(run.id)).toBe(2)
    } finally {
      await Promise.all([a.kill(), b?.kill()])
      await hooks.close()
    }
  }, 90_000)

  it('SIGTERM: a long poll in flight answers, the delivery it was making goes to the other process at once, exit 0', async () => {
    const hooks = await receiver({holdFirst: true})
    const url = await freshDatabase(server!)
    // Leases far longer than the test: the other process can only have the delivery if it is released.
    const a = await serve(url, 600_000)
    let b: ServedPortal | undefined
    try {
      const admin = await a.token()
      await call(a, admin, 'POST', '/v1/actions', hookAction(hooks.url))
      const started = (await call(a, admin, 'POST', '/v1/actions/hook/runs', {properties: {}})).body.run as {id: string}
      await until(() => (hooks.received.get(started.id) === 1 ? true : undefined))
      b = await serve(url, 600_000)
      const {run} = (await call(a, admin, 'GET', `/v1/actions/runs/${started.id}`)).body as {
        run: {updatedAt: string}
      }
      const since = encodeURIComponent(run.updatedAt)
      const watching = call(a, admin, 'GET', `/v1/actions/runs/${started.id}?idp_wait=60&idp_since=${since}`)
      // The watcher is waiting on A once A has answered a later request (requests are handled in order).
      await call(a, admin, 'GET', '/v1/blueprints')

      const exited = a.stop('SIGTERM')
      const watched = await watching
      expect(watched.status).toBe(200)
      expect(watched.body.run).toMatchObject({id: started.id, status: 'IN_PROGRESS'})
      expect(await exited).toBe(0)
      await until(async () => ((await runStatus(b!, admin, started.id)) === 'SUCCESS' ? true : undefined), 30_000)
      expect(hooks.received.get(started.id)).toBe(2)
      expect(a.log()).not.toContain('unexpected error')
    } finally {
      await Promise.all([a.kill(), b?.kill()])
      await hooks.close()
    }
  }, 90_000)

  it('database down: background work backs off (no busy loop), says so once each way, and resumes by itself', async () => {
    const database = new URL(await freshDatabase(server!))
    const relay = await tcpRelay(Number(database.port))
    database.host = `127.0.0.1:${relay.port}`
    const portal = await serve(database.toString(), 2000)
    try {
      const admin = await portal.token()
      await call(portal, admin, 'POST', '/v1/blueprints', {
        identifier: 'box',
        schema: {properties: {ttl: {format: 'timer', type: 'string'}}},
        title: 'Box',
      })
      await call(portal, admin, 'POST', '/v1/actions', {
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
      // The timer expires while the database is away.
      const ttl = new Date(Date.now() + 2000).toISOString()
      await call(portal, admin, 'POST', '/v1/blueprints/box/entities', {identifier: 'b1', properties: {ttl}})

      relay.drop()
      const before = relay.accepted
      await new Promise((resolve) => setTimeout(resolve, 6000))
      const attempts = relay.accepted - before
      // Three workers and the LISTEN connection, each backing off from 0.5 s: a few dozen at most
      // in 6 s, where a loop without backoff makes thousands.
      expect(attempts).toBeGreaterThan(0)
      expect(attempts).toBeLessThan(60)

      await relay.restore()
      const box = await until(async () => {
        const answer = await call(portal, admin, 'GET', '/v1/blueprints/box/entities/b1')
        const entity = answer.body.entity as {properties: {ttl?: unknown}} | undefined
        return entity && (entity.properties.ttl ?? null) === null ? entity : undefined
      }, 60_000)
      expect(box.properties.ttl ?? null).toBeNull()
      const lines = portal.log().split('\n')
      expect(lines.filter((line) => line.includes('background work retries with backoff'))).toHaveLength(1)
      expect(lines.filter((line) => line.includes('background work resumes'))).toHaveLength(1)
      expect(portal.log()).not.toContain('unexpected error')
    } finally {
      await portal.kill()
      await relay.close()
    }
  }, 120_000)
})
