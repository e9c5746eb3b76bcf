import pg from 'pg'
import {afterAll, describe, expect, it} from 'vitest'

import type {ServedPortal} from '../helpers/e2e.js'
import {dropDatabases, freshDatabase, postgresServer} from '../helpers/postgres.js'
import {call, serve, tokenFor, withPassword} from '../helpers/postgres-portal.js'
import {tcpRelay} from '../helpers/tcp-relay.js'
import {until} from '../helpers/http.js'
import {webSession} from '../helpers/web.js'

/**
 * What every `idp portal serve` process on one PostgreSQL database shares beside the data: rate
 * limits, agents' polls and the audit log; writes racing on one entity through two processes; and
 * `idp portal credential` on the database itself.
 */
const server = await postgresServer()

/** Two processes on a fresh database; the first made the admin, whose credentials both accept. */
async function twoProcesses(env: Record<string, string> = {}) {
  const {password, url} = withPassword(await freshDatabase(server!))
  const a = await serve(url, env)
  const b = await serve(url, env)
  return {a, admin: await a.token(), b, password, url}
}

const stop = (...portals: ServedPortal[]) => Promise.all(portals.map((portal) => portal.kill()))

describe.skipIf(!server)('PostgreSQL: state every process shares', () => {
  afterAll(() => dropDatabases(server!))

  it("--rate-limit counts a credential's requests on every process, its web-view pages included", async () => {
    // A window of a day (aligned to midnight UTC): the test's requests all fall in one.
    const {a, admin, b} = await twoProcesses({IDP_PORTAL_RATE_LIMIT: '20/24h'})
    try {
      const created = await call(a, admin, 'POST', '/v1/idp/credentials', {role: 'member'})
      const member = created.body.credential as {clientId: string; clientSecret: string}
      const token = await tokenFor(b, member)
      // Signed in to A's web view; its API calls go to B.
      const web = await webSession(a.url, {call: (...args) => call(a, token, ...args), token})
      const remaining: number[] = []
      let refused
      for (let index = 0; !refused && index < 50; index++) {
        const answer = index % 2 ? await web.get('/catalog') : await call(b, token, 'GET', '/v1/blueprints')
        if (answer.status === 429) refused = answer
        else remaining.push(Number(answer.headers.get('x-ratelimit-remaining')))
      }
      // One count for both processes and both kinds of request: down by one each time, then 429.
      expect(remaining.at(-1)).toBe(0)
      expect(remaining).toEqual(remaining.map((_, index) => remaining[0]! - index))
      expect(refused!.headers.get('retry-after')).toMatch(/^\d+$/)
      expect((await call(b, token, 'GET', '/v1/blueprints')).status).toBe(429)
      expect((await web.get('/catalog')).status).toBe(429)
      expect((await call(a, token, 'GET', '/v1/blueprints')).status).toBe(429)
      // Another credential has a window of its own.
      expect((await call(b, admin, 'GET', '/v1/blueprints')).status).toBe(200)
    } finally {
      await stop(a, b)
    }
  }, 60_000)

  it('--rate-limit leaves health probes alone: they answer for the process and its database, whatever the counts', async () => {
    const database = new URL(await freshDatabase(server!))
    const relay = await tcpRelay(Number(database.port))
    database.host = `127.0.0.1:${relay.port}`
    const portal = await serve(database.toString(), {IDP_PORTAL_RATE_LIMIT: '20/24h'})
    try {
      const admin = await portal.token()
      expect((await call(portal, admin, 'GET', '/v1/blueprints')).headers.get('x-ratelimit-limit')).toBe('20')
      for (let probe = 0; probe < 25; probe++) {
        const ready = await fetch(`${portal.url}/readyz`)
        expect([ready.status, ready.headers.get('x-ratelimit-limit')]).toEqual([200, null])
      }

      await relay.cut()
      expect((await fetch(`${portal.url}/healthz`)).status).toBe(200)
      expect((await fetch(`${portal.url}/readyz`)).status).toBe(503)
      expect(await call(portal, admin, 'GET', '/v1/blueprints')).toMatchObject({
        body: {error: 'database_unavailable'},
        status: 503,
      })
      await relay.restore()
      const counted = await until(async () => {
        const answer = await call(portal, admin, 'GET', '/v1/blueprints')
        return answer.status === 200 ? answer : undefined
      })
      expect(counted.headers.get('x-ratelimit-limit')).toBe('20')
      expect(portal.log()).not.toContain('unexpected error')
    } finally {
      await portal.kill()
      await relay.close()
    }
  }, 60_000)

  it("GET /v1/idp/agents and the audit log show every process's activity", async () => {
    const {a, admin, b} = await twoProcesses()
    try {
      for (const [portal, installationId] of [
        [a, 'agent-on-a'],
        [b, 'agent-on-b'],
      ] as const) {
        const claimed = await call(portal, admin, 'POST', '/v1/actions/runs/claim-pending', {installationId})
        expect(claimed.status).toBe(200)
      }
      for (const portal of [a, b]) {
        const {agents} = (await call(portal, admin, 'GET', '/v1/idp/agents')).body as {
          agents: {installationId: string}[]
        }
        expect(agents.map((agent) => agent.installationId).sort()).toEqual(['agent-on-a', 'agent-on-b'])
      }

      await call(a, admin, 'POST', '/v1/blueprints', {identifier: 'svc', schema: {properties: {}}, title: 'Service'})
      await call(b, admin, 'POST', '/v1/blueprints/svc/entities', {identifier: 'made-on-b'})
      await call(a, admin, 'POST', '/v1/blueprints/svc/entities', {identifier: 'made-on-a'})
      const made = (
        records: {resourceType: string; action: string; context: {blueprint?: string; entity?: string}}[],
      ) =>
        records.map(
          (record) => `${record.action} ${record.resourceType} ${record.context.entity ?? record.context.blueprint}`,
        )
      const expected = ['CREATE entity made-on-a', 'CREATE entity made-on-b', 'CREATE blueprint svc']
      for (const portal of [a, b]) {
        const {audits} = (await call(portal, admin, 'GET', '/v1/audit-log?blueprint=svc')).body
        expect(made(audits as never)).toEqual(expected)
        // `idp audit` reads the same log through either process.
        const cli = await a.run(['audit', '--blueprint', 'svc', '--json', '--api-url', portal.url], {
          IDP_CLIENT_ID: a.credentials().clientId,
          IDP_CLIENT_SECRET: a.credentials().clientSecret,
        })
        expect(cli.code, cli.stderr).toBe(0)
        expect(made(cli.json().audits)).toEqual(expected)
      }
    } finally {
      await stop(a, b)
    }
  }, 60_000)

  it('PUT and PATCH of one entity racing through two processes: one state, its relation index and audit chain agree', async () => {
    const {a, admin, b, url} = await twoProcesses()
    try {
      await call(a, admin, 'POST', '/v1/blueprints', {identifier: 'team', schema: {properties: {}}, title: 'Team'})
      await call(a, admin, 'POST', '/v1/blueprints', {
        identifier: 'svc',
        relations: {
          deps: {many: true, required: false, target: 'team', title: 'Depends on'},
          owner: {many: false, required: false, target: 'team', title: 'Owner'},
        },
        schema: {properties: {tier: {type: 'string'}}},
        title: 'Service',
      })
      for (const team of ['t1', 't2', 't3', 't4'])
        await call(b, admin, 'POST', '/v1/blueprints/team/entities', {identifier: team})
      const api = '/v1/blueprints/svc/entities/api'
      await call(a, admin, 'POST', '/v1/blueprints/svc/entities', {identifier: 'api', relations: {owner: 't1'}})

      const database = new pg.Client({connectionString: url})
      await database.connect()
      const rounds = 8
      try {
        for (let round = 0; round < rounds; round++) {
          const put = {properties: {tier: `put-${round}`}, relations: {deps: ['t3'], owner: 't2'}}
          const patch = {properties: {tier: `patch-${round}`}, relations: {deps: ['t1', 't4'], owner: 't3'}}
          const answers = await Promise.all([call(a, admin, 'PUT', api, put), call(b, admin, 'PATCH', api, patch)])
          expect(answers.map((answer) => answer.status)).toEqual([200, 200])

          const entity = (await call(b, admin, 'GET', api)).body.entity as {
            properties: {tier: string}
            relations: {deps: string[]; owner: string}
          }
          // Whichever landed last, the entity is all of it: never a mix of the two.
          const last = entity.properties.tier === `put-${round}` ? put : patch
          expect(entity).toMatchObject(last)
          const {rows} = await database.query<{name: string; identifier: string}>(
            `SELECT r.name, r.identifier FROM relations r JOIN entities e ON e.seq = r.source
             WHERE e.blueprint = 'svc' AND e.identifier = 'api' ORDER BY r.name, r.identifier`,
          )
          expect(rows).toEqual([
            ...last.relations.deps.map((identifier) => ({identifier, name: 'deps'})),
            {identifier: last.relations.owner, name: 'owner'},
          ])
        }
      } finally {
        await database.end()
      }

      // One record per write, each starting where the one before ended; the same on both processes.
      const {audits} = (await call(a, admin, 'GET', '/v1/audit-log?entity=api&blueprint=svc&limit=100')).body as {
        audits: {action: string; diff: {before: unknown; after: unknown}}[]
      }
      expect((await call(b, admin, 'GET', '/v1/audit-log?entity=api&blueprint=svc&limit=100')).body.audits).toEqual(
        audits,
      )
      const chain = audits.toReversed()
      expect(chain.map((record) => record.action)).toEqual(['CREATE', ...Array(2 * rounds).fill('UPDATE')])
      expect(chain[0]!.diff.before).toBeNull()
      for (let index = 1; index < chain.length; index++)
        expect(chain[index]!.diff.before).toEqual(chain[index - 1]!.diff.after)
      expect(chain.at(-1)!.diff.after).toEqual((await call(a, admin, 'GET', api)).body.entity)
    } finally {
      await stop(a, b)
    }
  }, 90_000)

  it('idp portal credential works on the database: what it creates and revokes, every process sees', async () => {
    const {a, admin, b, password, url} = await twoProcesses()
    try {
      const onDatabase = {IDP_PORTAL_DATABASE_URL: url, IDP_PORTAL_STORE: 'postgres'}
      const created = await a.run(['portal', 'credential', '--role', 'member', '--json'], onDatabase)
      expect(created.code, created.stderr).toBe(0)
      const member = created.json() as {clientId: string; clientSecret: string; role: string}
      expect(member.role).toBe('member')
      const token = await tokenFor(b, member)
      for (const portal of [a, b]) expect((await call(portal, token, 'GET', '/v1/blueprints')).status).toBe(200)

      // The URL on the command line works too, with a warning that the process list shows its password.
      const listed = await a.run([
        'portal',
        'credential',
        'list',
        '--store',
        'postgres',
        '--database-url',
        url,
        '--json',
      ])
      expect(listed.code, listed.stderr).toBe(0)
      expect(listed.json().credentials.map((credential: {clientId: string}) => credential.clientId)).toContain(
        member.clientId,
      )
      expect(listed.stderr).toContain('the password in --database-url shows in the process list')

      // libpq's PG* variables name the database when no URL does.
      const parsed = new URL(url)
      const revoked = await a.run(
        ['portal', 'credential', 'revoke', member.clientId, '--store', 'postgres', '--json'],
        {
          PGDATABASE: parsed.pathname.slice(1),
          PGHOST: parsed.hostname,
          PGPORT: parsed.port,
          PGUSER: decodeURIComponent(parsed.username),
        },
      )
      expect(revoked.code, revoked.stderr).toBe(0)
      expect(revoked.json()).toEqual({revoked: member.clientId})
      for (const portal of [a, b]) expect((await call(portal, token, 'GET', '/v1/blueprints')).status).toBe(401)
      expect((await call(b, admin, 'GET', '/v1/blueprints')).status).toBe(200)

      const misused = await a.run(['portal', 'credential', 'list', '--database-url', url])
      expect(misused.code).toBe(2)
      expect(misused.stderr).toContain('--database-url is for --store postgres')
      for (const result of [created, listed, revoked, misused])
        expect(result.stdout + result.stderr).not.toContain(password)
    } finally {
      await stop(a, b)
    }
  }, 60_000)
})
