import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'

import Database from 'better-sqlite3'
import pg from 'pg'
import {afterAll, describe, expect, it} from 'vitest'

import {LOCAL_PROFILE, ProfileStore} from '../../src/config/profiles.js'
import {SHARED_STATE_TABLES} from '../../src/portal/store/postgres/shared-state.js'
import {SqliteStore} from '../../src/portal/store/sqlite/store.js'
import {COPIED_TABLES, NOT_COPIED} from '../../src/portal/store/transfer.js'
import {runCli} from '../helpers/cli.js'
import {EXAMPLE_CATALOG, localPortal, runEnded, servePortal, type CliPortal} from '../helpers/e2e.js'
import {accessToken, request, until} from '../helpers/http.js'
import {tempDir} from '../helpers/portal.js'
import {dropDatabases, freshDatabase, postgresServer} from '../helpers/postgres.js'
import {withPassword} from '../helpers/postgres-portal.js'

const server = await postgresServer()

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const copy = (args: string[], url: string) =>
  runCli(['portal', 'copy', '--json', ...args], {env: {IDP_PORTAL_DATABASE_URL: url}, timeoutMs: 60_000})

async function onDatabase<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({connectionString: url})
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

/** Records the timer automation's deliveries: entity identifier → how many times. */
async function timerReceiver() {
  const fired = new Map<string, number>()
  const receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      const {entity} = JSON.parse(body) as {entity: string}
      fired.set(entity, (fired.get(entity) ?? 0) + 1)
      res.writeHead(200, {'content-type': 'application/json'}).end('{}')
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  return {
    close: () => new Promise<void>((resolve) => receiver.close(() => resolve())),
    fired,
    url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
  }
}

/** A laptop portal with a bit of everything: the example catalog, runs, approvals, timers, the queue. */
async function seedLaptop(portal: CliPortal, receiverUrl: string) {
  const api = (method: string, path: string, body?: unknown) => portal.api(method, path, body)
  expect((await portal.run(['catalog', 'sync', EXAMPLE_CATALOG, '--json'])).code).toBe(0)
  await api('POST', '/v1/blueprints', {
    identifier: 'env',
    schema: {properties: {ttl: {format: 'timer', type: 'string'}}},
    title: 'Env',
  })
  const job = {payload: {run: '{{ .run.id }}'}, type: 'KAFKA'}
  const selfService = {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}}
  await api('POST', '/v1/actions', {identifier: 'job', invocationMethod: job, trigger: selfService})
  await api('POST', '/v1/actions', {
    identifier: 'gated',
    invocationMethod: job,
    requiredApproval: true,
    trigger: selfService,
  })
  await api('POST', '/v1/actions', {
    identifier: 'expire',
    invocationMethod: {
      body: {entity: '{{ .event.context.entityIdentifier }}'},
      synchronized: true,
      type: 'WEBHOOK',
      url: `${receiverUrl}/expired`,
    },
    trigger: {
      event: {blueprintIdentifier: 'env', propertyIdentifier: 'ttl', type: 'TIMER_PROPERTY_EXPIRED'},
      type: 'automation',
    },
  })
  await api('PATCH', '/v1/actions/gated/permissions', {execute: {roles: ['Member']}})
  await api('PATCH', '/v1/organization', {name: 'Laptop Org'})

  // A gated run, approved, which reported logs and finished; a queued run nobody has claimed.
  const gated = (await api('POST', '/v1/actions/gated/runs', {properties: {}})).run.id as string
  await api('PATCH', `/v1/actions/runs/${gated}/approval`, {description: 'looks fine', status: 'APPROVE'})
  await api('POST', `/v1/actions/runs/${gated}/logs`, {message: 'step 1 of 2'})
  await api('POST', `/v1/actions/runs/${gated}/logs`, {message: 'step 2 of 2', terminationStatus: 'SUCCESS'})
  const queued = (await api('POST', '/v1/actions/job/runs', {properties: {}})).run.id as string
  await until(async () => ((await api('GET', `/v1/actions/runs/${queued}/logs`)).runLogs.length ? true : undefined))

  // A timer that fired here, and one that runs out after the laptop portal has stopped.
  await api('POST', '/v1/blueprints/env/entities', {identifier: 'old', properties: {ttl: new Date().toISOString()}})
  return {gated, queued}
}

describe.skipIf(!server)('idp portal copy: a laptop portal onto PostgreSQL', () => {
  afterAll(() => dropDatabases(server!))

  it('every table of both stores is copied or named as left behind; an unknown schema is refused', async () => {
    const dataDir = tempDir('idp-data-')
    await (await SqliteStore.open(dataDir)).close()
    const sqlite = new Database(join(dataDir, 'portal.db'), {readonly: true})
    const sqliteTables = sqlite
      .prepare<[], {name: string}>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all()
      .map((row) => row.name)
    sqlite.close()
    expect(sqliteTables.sort()).toEqual([...COPIED_TABLES, ...Object.keys(NOT_COPIED)].sort())

    const url = await freshDatabase(server!)
    expect((await runCli(['portal', 'migrate'], {env: {IDP_PORTAL_DATABASE_URL: url}})).code).toBe(0)
    const pgTables = await onDatabase(url, async (client) =>
      (await client.query<{tablename: string}>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).rows.map(
        (row) => row.tablename,
      ),
    )
    expect(pgTables.sort()).toEqual(
      [...COPIED_TABLES, ...Object.keys(NOT_COPIED), ...Object.keys(SHARED_STATE_TABLES), 'idp_schema_version'].sort(),
    )

    // Either side at a schema this idp does not know is refused, in a dry run too.
    await onDatabase(url, (client) =>
      client.query('INSERT INTO idp_schema_version (version) SELECT max(version) + 1 FROM idp_schema_version'),
    )
    for (const dryRun of [['--dry-run'], []]) {
      const newer = await copy(['--from', dataDir, ...dryRun], url)
      expect([newer.code, newer.json().error.code]).toEqual([2, 'database_too_new'])
    }
    const file = new Database(join(dataDir, 'portal.db'))
    file.pragma(`user_version = ${(file.pragma('user_version', {simple: true}) as number) + 1}`)
    file.close()
    const newerSource = await copy(['--from', dataDir, '--dry-run'], await freshDatabase(server!))
    expect([newerSource.code, newerSource.json().error.code]).toEqual([2, 'database_too_new'])
  })

  it('copies everything; the team portal serves it, tokens and credentials work, the queue and timers go on; a second copy is refused', async () => {
    const receiver = await timerReceiver()
    const laptop = await localPortal()
    const {gated, queued} = await seedLaptop(laptop, receiver.url)
    const member = (await laptop.run(['portal', 'credential', '--data-dir', laptop.dataDir, '--json'])).json() as {
      clientId: string
      clientSecret: string
    }
    await until(() => (receiver.fired.get('old') ? true : undefined))
    const pendingTtl = Date.now() + 1000
    await laptop.api('POST', '/v1/blueprints/env/entities', {
      identifier: 'new',
      properties: {ttl: new Date(pendingTtl).toISOString()},
    })
    const adminToken = await laptop.token()
    const before = {
      audits: await laptop.api('GET', '/v1/audit-log?limit=1000'),
      blueprints: await laptop.api('GET', '/v1/blueprints'),
      components: await laptop.api('GET', '/v1/blueprints/Component/all-entities'),
      gated: await laptop.api('GET', `/v1/actions/runs/${gated}`),
      logs: await laptop.api('GET', `/v1/actions/runs/${gated}/logs`),
      permissions: await laptop.api('GET', '/v1/actions/gated/permissions'),
      related: await laptop.api('POST', '/v1/blueprints/Component/entities/search', {
        query: {combinator: 'and', rules: [{blueprint: 'System', operator: 'relatedTo', value: 'Cart'}]},
      }),
      organization: await laptop.api('GET', '/v1/organization'),
    }

    const {password, url} = withPassword(await freshDatabase(server!))
    // While the laptop portal has its data directory open, nothing is copied.
    const busy = await copy(['--from', laptop.dataDir], url)
    expect([busy.code, busy.json().error.code]).toEqual([2, 'portal_in_use'])
    await laptop.stop()
    await sleep(Math.max(0, pendingTtl - Date.now()) + 100)

    // A dry run reads both sides and writes nothing.
    const dry = await copy(['--from', laptop.dataDir, '--dry-run'], url)
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.json()).toMatchObject({dryRun: true, from: laptop.dataDir})
    expect(dry.json().tables.every((table: {copied: number}) => table.copied === 0)).toBe(true)
    expect(await onDatabase(url, (client) => client.query("SELECT to_regclass('entities') AS t"))).toMatchObject({
      rows: [{t: null}],
    })

    const copied = await copy(['--from', laptop.dataDir, '--batch-size', '7'], url)
    expect(copied.code, copied.stdout + copied.stderr).toBe(0)
    const shown = new URL(url)
    if (shown.password) shown.password = '***'
    const result = copied.json() as {
      to: string
      dryRun: boolean
      tables: {name: string; source: number; copied: number}[]
    }
    expect(result).toMatchObject({dryRun: false, from: laptop.dataDir, to: shown.toString()})
    expect(result.tables.map((table) => table.name)).toEqual([...COPIED_TABLES])
    for (const table of result.tables) {
      expect(table.copied, table.name).toBe(table.source)
      if (table.name !== 'automation_events') expect(table.source, table.name).toBeGreaterThan(0)
    }
    expect(result.tables.find((table) => table.name === 'entities')!.source).toBeGreaterThan(7)
    expect(copied.stdout + copied.stderr).not.toContain(password)

    // Running it again is refused, and says why; the text output is the table.
    const again = await copy(['--from', laptop.dataDir], url)
    expect([again.code, again.json().error.code]).toEqual([2, 'target_not_empty'])
    expect(again.stdout + again.stderr).not.toContain(password)
    const text = await runCli(['portal', 'copy', '--from', laptop.dataDir, '--dry-run'], {
      env: {IDP_PORTAL_DATABASE_URL: url},
    })
    expect(text.code).toBe(2)
    expect(text.stderr).toContain('already holds a portal')

    const team = await servePortal({portalEnv: {IDP_PORTAL_DATABASE_URL: url, IDP_PORTAL_STORE: 'postgres'}})
    try {
      const api = async (method: string, path: string, body?: unknown) =>
        (await request(team.url, method, path, {body, token: adminToken})).body
      // A token the laptop portal signed works: the signing key came along.
      expect(await api('GET', '/v1/blueprints')).toEqual(before.blueprints)
      expect(await api('GET', '/v1/blueprints/Component/all-entities')).toEqual(before.components)
      expect(await api('GET', `/v1/actions/runs/${gated}`)).toEqual(before.gated)
      expect(await api('GET', `/v1/actions/runs/${gated}/logs`)).toEqual(before.logs)
      expect(await api('GET', '/v1/actions/gated/permissions')).toEqual(before.permissions)
      expect(
        await api('POST', '/v1/blueprints/Component/entities/search', {
          query: {combinator: 'and', rules: [{blueprint: 'System', operator: 'relatedTo', value: 'Cart'}]},
        }),
      ).toEqual(before.related)
      expect(before.related.entities.length).toBeGreaterThan(0)
      expect(await api('GET', '/v1/organization')).toEqual(before.organization)
      // The audit log, in its order (the team portal has added records of its own since it started).
      const copiedAudits = before.audits.audits.map((record: {identifier: string}) => record.identifier) as string[]
      const audits = (await api('GET', '/v1/audit-log?limit=1000')).audits as {identifier: string}[]
      expect(audits.map((record) => record.identifier).filter((id) => copiedAudits.includes(id))).toEqual(copiedAudits)

      // The laptop's saved profile, pointed at the team portal, works as it is.
      const profiles = await ProfileStore.open(laptop.configDir)
      await profiles.set(LOCAL_PROFILE, {...profiles.get(LOCAL_PROFILE)!, apiUrl: team.url})
      const saved = await runCli(['entity', 'get', 'CartService', '--blueprint', 'Component', '--json'], {
        env: laptop.env,
      })
      expect(saved.code, saved.stderr).toBe(0)
      expect(saved.json()).toMatchObject({entity: {identifier: 'CartService'}})

      // The member credential made on the laptop logs in, through the CLI.
      const asMember = {IDP_API_URL: team.url, IDP_CLIENT_ID: member.clientId, IDP_CLIENT_SECRET: member.clientSecret}
      const listed = await runCli(['blueprint', 'list', '--json'], {env: {...asMember, IDP_CONFIG_DIR: tempDir()}})
      expect(listed.code, listed.stderr).toBe(0)

      // The queued run is claimed by an agent polling the team portal (with that profile), and finishes.
      const agent = await runCli(['agent', '--handler', 'job=cat', '--once'], {env: laptop.env})
      expect(agent.code, agent.stderr).toBe(0)
      expect((await runEnded({api}, queued)).status).toBe('SUCCESS')

      // The timer that ran out meanwhile fires once, on the team portal; the one fired on the laptop stays fired.
      await until(() => (receiver.fired.get('new') ? true : undefined), 15_000)
      expect(Object.fromEntries(receiver.fired)).toEqual({new: 1, old: 1})

      // New rows take seqs past the copied ones: nothing collides.
      const admin = await accessToken(team.url, laptop.credentials())
      const created = await request(team.url, 'POST', '/v1/blueprints/env/entities', {
        body: {identifier: 'newer', properties: {ttl: new Date(Date.now() + 3_600_000).toISOString()}},
        token: admin,
      })
      expect(created.status).toBe(201)
      const run = await request(team.url, 'POST', '/v1/actions/job/runs', {body: {properties: {}}, token: admin})
      expect(run.status).toBe(202)
      expect(team.log()).not.toContain('unexpected error')
    } finally {
      await team.stop()
      await receiver.close()
    }
  }, 120_000)

  it('a copy that fails part-way leaves the database as it was', async () => {
    const laptop = await localPortal()
    expect((await laptop.run(['catalog', 'sync', EXAMPLE_CATALOG, '--json'])).code).toBe(0)
    await laptop.stop()
    const url = await freshDatabase(server!)
    expect((await runCli(['portal', 'migrate'], {env: {IDP_PORTAL_DATABASE_URL: url}})).code).toBe(0)
    const key = async () =>
      onDatabase(url, async (client) => (await client.query("SELECT value FROM meta WHERE key = 'token_key'")).rows)
    const keyBefore = await key()
    // A DBA's trigger refuses the audit log, the last table copied.
    await onDatabase(url, (client) =>
      client.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no audits here'; END $$;
        CREATE TRIGGER refuse BEFORE INSERT ON audits FOR EACH STATEMENT EXECUTE FUNCTION refuse();`),
    )
    const failed = await copy(['--from', laptop.dataDir], url)
    expect(failed.code).toBe(1)
    expect(failed.json().error.message).toContain('no audits here')
    const counts = await onDatabase(url, async (client) => {
      const found: Record<string, number> = {}
      for (const table of COPIED_TABLES)
        found[table] = Number((await client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n)
      return found
    })
    expect(counts).toEqual({...Object.fromEntries(COPIED_TABLES.map((table) => [table, 0])), meta: 1})
    expect(await key()).toEqual(keyBefore)
  }, 60_000)
})
