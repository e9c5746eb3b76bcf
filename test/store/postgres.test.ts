import pg from 'pg'
import {afterAll, describe, expect, it, vi} from 'vitest'

import {openStore} from '../../src/portal/store/open.js'
import {MIGRATIONS} from '../../src/portal/store/postgres/migrations.js'
import {dropDatabases, freshDatabase, postgresServer} from '../helpers/postgres.js'
import {storeContract} from './contract.js'
import {searchContract} from './search-contract.js'

const server = await postgresServer()
// The search contract's 400 random queries are a few thousand round trips to the server: more than
// the default 30 s when the machine is busy.
vi.setConfig({testTimeout: 120_000})
const open = (url: string) => openStore('', 'postgres', {url})

describe.skipIf(!server)('PostgreSQL store', () => {
  afterAll(() => dropDatabases(server!))

  storeContract('PostgreSQL', async () => {
    const url = await freshDatabase(server!)
    return {reopen: () => open(url), store: await open(url)}
  })

  searchContract('PostgreSQL', async () => open(await freshDatabase(server!)))

  it('migrates once when several processes start together, and refuses a newer database', async () => {
    const url = await freshDatabase(server!)
    const stores = await Promise.all([open(url), open(url), open(url)])
    await Promise.all(stores.map((store) => store.close()))
    const client = new pg.Client({connectionString: url})
    await client.connect()
    const {rows} = await client.query<{version: number}>('SELECT version FROM idp_schema_version ORDER BY version')
    expect(rows.map((row) => row.version)).toEqual(MIGRATIONS.map((_, index) => index + 1))
    await client.query('INSERT INTO idp_schema_version (version) VALUES (999)')
    await client.end()
    await expect(open(url)).rejects.toThrow(
      `this portal database has schema version 999, newer than this idp knows (${MIGRATIONS.length}); upgrade idp`,
    )
  })

  it('a write transaction reads a definition once, afresh after changing one, and hands each caller its own copy', async () => {
    const store = await open(await freshDatabase(server!))
    const blueprint = {identifier: 'svc', relations: {}, schema: {properties: {}}, title: 'Service'}
    await store.transaction(() => store.putBlueprint(blueprint))
    const seen = await store.transaction(async () => {
      const first = (await store.getBlueprint('svc'))!
      first.title = 'changed by a caller, not stored'
      const second = (await store.getBlueprint('svc'))!
      await store.putBlueprint({...blueprint, title: 'Renamed'})
      return [second.title, (await store.getBlueprint('svc'))!.title, (await store.listBlueprints())[0]!.title]
    })
    expect(seen).toEqual(['Service', 'Renamed', 'Renamed'])
    expect((await store.getBlueprint('svc'))!.title).toBe('Renamed')
    await store.close()
  })
})
