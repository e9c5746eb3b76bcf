import pg from 'pg'
import {afterAll, describe, expect, it} from 'vitest'

import {openStore} from '../../src/portal/store/open.js'
import {dropDatabases, freshDatabase, postgresServer} from '../helpers/postgres.js'

/** What the PostgreSQL store keeps for every process on its database: request counts and agents' polls. */
const server = await postgresServer()

describe.skipIf(!server)('PostgreSQL shared state', () => {
  afterAll(() => dropDatabases(server!))

  const opened = async () => {
    const url = await freshDatabase(server!)
    const store = await openStore('', 'postgres', {url})
    return {shared: store.shared!, store, url}
  }

  it('counts requests atomically, from any number of connections, one count per caller and window', async () => {
    const {shared, store} = await opened()
    const counts = await Promise.all(Array.from({length: 40}, () => shared.countRequest('client_a', 60_000, 1_000)))
    expect(counts.sort((x, y) => x - y)).toEqual(Array.from({length: 40}, (_, index) => index + 1))
    expect(await shared.countRequest('client_b', 60_000, 1_000)).toBe(1)
    expect(await shared.countRequest('client_a', 120_000, 61_000)).toBe(1)
    await store.close()
  })

  it('drops windows long over, and only those', async () => {
    const {shared, store, url} = await opened()
    await shared.countRequest('old', 10_000, 5_000)
    await shared.countRequest('recent', 150_000, 50_000)
    // A minute after the last clearing, counting clears windows that ended over a minute ago.
    await shared.countRequest('now', 200_000, 140_000)
    const client = new pg.Client({connectionString: url})
    await client.connect()
    const {rows} = await client.query<{caller: string}>('SELECT caller FROM request_counts ORDER BY caller')
    await client.end()
    expect(rows.map((row) => row.caller)).toEqual(['now', 'recent'])
    await store.close()
  })

  it("keeps each agent's latest poll, and only the most recent agents", async () => {
    const {shared, store} = await opened()
    await shared.recordAgentPoll({at: 2_000, installationId: 'one'}, 3)
    await shared.recordAgentPoll({at: 1_000, installationId: 'one'}, 3)
    for (const [index, installationId] of ['two', 'three', 'four'].entries())
      await shared.recordAgentPoll({at: 3_000 + index, installationId}, 3)
    expect(await shared.agentPolls(10)).toEqual([
      {at: 3_002, installationId: 'four'},
      {at: 3_001, installationId: 'three'},
      {at: 3_000, installationId: 'two'},
    ])
    await shared.recordAgentPoll({at: 4_000, installationId: 'one'}, 3)
    expect(await shared.agentPolls(2)).toEqual([
      {at: 4_000, installationId: 'one'},
      {at: 3_002, installationId: 'four'},
    ])
    await store.close()
  })
})
