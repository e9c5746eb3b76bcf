import pg from 'pg'
import {afterAll, describe} from 'vitest'

import {openStore} from '../../src/portal/store/open.js'
import {dropDatabases, freshDatabase, postgresServer} from '../helpers/postgres.js'
import {webSessionContract} from './web-session-contract.js'

const server = await postgresServer()

describe.skipIf(!server)('PostgreSQL', () => {
  afterAll(() => dropDatabases(server!))

  webSessionContract('PostgreSQL', async () => {
    const url = await freshDatabase(server!)
    return {
      other: () => openStore('', 'postgres', {url}),
      async rows(table) {
        const client = new pg.Client({connectionString: url})
        await client.connect()
        try {
          return (await client.query<Record<string, unknown>>(`SELECT * FROM ${table}`)).rows
        } finally {
          await client.end()
        }
      },
      store: await openStore('', 'postgres', {url}),
    }
  })
})
