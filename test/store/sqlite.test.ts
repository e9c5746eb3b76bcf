import {mkdirSync} from 'node:fs'
import {join} from 'node:path'

import Database from 'better-sqlite3'
import {expect, it} from 'vitest'

import {openStore} from '../../src/portal/store/open.js'
import {tempDir} from '../helpers/portal.js'
import {storeContract} from './contract.js'
import {searchContract} from './search-contract.js'

storeContract('SQLite', async () => {
  const dir = tempDir()
  return {reopen: () => openStore(dir), store: await openStore(dir)}
})

searchContract('SQLite', () => openStore(tempDir()))

it('migrates a database made before schema versions were recorded, and refuses a newer one', async () => {
  const dir = join(tempDir(), 'old')
  mkdirSync(dir)
  // The first release's tables, without the columns added later.
  const old = new Database(join(dir, 'portal.db'))
  old.exec(`CREATE TABLE credentials (client_id TEXT PRIMARY KEY, client_secret TEXT NOT NULL, role TEXT NOT NULL,
    created_at TEXT NOT NULL);
    CREATE TABLE tokens (token TEXT PRIMARY KEY, client_id TEXT NOT NULL, expires_at INTEGER NOT NULL);
    INSERT INTO credentials VALUES ('c', 's', 'admin', '2026-01-01');`)
  old.close()
  const store = await openStore(dir)
  expect(await store.getCredential('c')).toMatchObject({clientId: 'c', role: 'admin', teams: []})
  await store.close()
  const newer = new Database(join(dir, 'portal.db'))
  newer.pragma('user_version = 999')
  newer.close()
  await expect(openStore(dir)).rejects.toThrow(/schema version 999, newer than this idp knows/)
})

it('migration 5 gives entities stored without a team their wire form', async () => {
  const dir = tempDir()
  const store = await openStore(dir)
  await store.transaction(() =>
    store.putEntity({blueprint: 'svc', identifier: 'old', properties: {}, relations: {}, team: []}, {}),
  )
  await store.close()
  const db = new Database(join(dir, 'portal.db'))
  db.exec(`DROP INDEX entities_by_blueprint; UPDATE entities SET data = json_remove(data, '$.team')`)
  db.pragma('user_version = 4')
  db.close()
  const reopened = await openStore(dir)
  const [row] = await reopened.searchEntities({filter: {all: []}, limit: 1})
  expect(JSON.parse(row!.json)).toMatchObject({identifier: 'old', team: []})
  await reopened.close()
})
