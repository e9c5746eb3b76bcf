import {join} from 'node:path'

import Database from 'better-sqlite3'

import {openStore} from '../../src/portal/store/open.js'
import {tempDir} from '../helpers/portal.js'
import {webSessionContract} from './web-session-contract.js'

webSessionContract('SQLite', async () => {
  const dir = tempDir()
  return {
    other: () => openStore(dir),
    async rows(table) {
      const db = new Database(join(dir, 'portal.db'), {readonly: true})
      try {
        return db.prepare<[], Record<string, unknown>>(`SELECT * FROM ${table}`).all()
      } finally {
        db.close()
      }
    },
    store: await openStore(dir),
  }
})
