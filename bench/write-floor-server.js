// The write-path floor: node:http and the store's driver doing the portal's durable work for each
// entity, one transaction a request: read the stored entity, upsert it, and insert an audit row
// with the before/after JSON. `sqlite DIR`: better-sqlite3, WAL and synchronous=NORMAL, as the
// portal's store; `postgres URL`: pg's pool, the server's synchronous_commit, as the portal's.
// Routes: POST /bulk {entities}, POST /entities (one entity), PUT /entities/:id (one entity).
import {randomUUID} from 'node:crypto'
import {createServer} from 'node:http'
import {join} from 'node:path'

import Database from 'better-sqlite3'
import pg from 'pg'

const [kind, where] = process.argv.slice(2)

const TABLES = (seq, json) => `
CREATE TABLE entities (seq ${seq}, identifier TEXT NOT NULL UNIQUE, data ${json} NOT NULL);
CREATE TABLE audits (seq ${seq}, identifier TEXT NOT NULL UNIQUE, at TEXT NOT NULL, action TEXT NOT NULL,
  entity TEXT NOT NULL, data ${json} NOT NULL);`

const audit = (entity, before) => {
  const at = new Date().toISOString()
  const record = {action: before ? 'UPDATE' : 'CREATE', at, diff: {after: entity, before: before ?? null}}
  return [randomUUID(), at, record.action, entity.identifier, JSON.stringify(record)]
}

function sqliteWriter() {
  const db = new Database(join(where, 'floor.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(TABLES('INTEGER PRIMARY KEY', 'TEXT'))
  const read = db.prepare('SELECT data FROM entities WHERE identifier = ?').pluck()
  const upsert = db.prepare(
    'INSERT INTO entities (identifier, data) VALUES (?, ?) ON CONFLICT (identifier) DO UPDATE SET data = excluded.data',
  )
  const audited = db.prepare('INSERT INTO audits (identifier, at, action, entity, data) VALUES (?, ?, ?, ?, ?)')
  const write = db.transaction((entities) => {
    for (const entity of entities) {
      const before = read.get(entity.identifier)
      upsert.run(entity.identifier, JSON.stringify(entity))
      audited.run(...audit(entity, before && JSON.parse(before)))
    }
  })
  return async (entities) => write(entities)
}

async function postgresWriter() {
  const pool = new pg.Pool({connectionString: where})
  await pool.query(TABLES('bigserial PRIMARY KEY', 'jsonb'))
  return async (entities) => {
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      for (const entity of entities) {
        const {rows} = await client.query('SELECT data FROM entities WHERE identifier = $1 FOR UPDATE', [
          entity.identifier,
        ])
        await client.query(
          `INSERT INTO entities (identifier, data) VALUES ($1, $2::jsonb)
           ON CONFLICT (identifier) DO UPDATE SET data = excluded.data`,
          [entity.identifier, JSON.stringify(entity)],
        )
        await client.query(
          'INSERT INTO audits (identifier, at, action, entity, data) VALUES ($1, $2, $3, $4, $5::jsonb)',
          audit(entity, rows[0]?.data),
        )
      }
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK')
      throw error
    } finally {
      client.release()
    }
  }
}

const write = kind === 'postgres' ? await postgresWriter() : sqliteWriter()

const server = createServer((request, response) => {
  const chunks = []
  request.on('data', (chunk) => chunks.push(chunk))
  request.on('end', async () => {
    const parsed = JSON.parse(Buffer.concat(chunks).toString())
    const bulk = request.url.endsWith('/bulk')
    const entities = bulk ? parsed.entities : [parsed]
    try {
      await write(entities)
      const status = request.method === 'POST' && !bulk ? 201 : 200
      response.writeHead(status, {'content-type': 'application/json'}).end('{"ok":true}')
    } catch (error) {
      response.writeHead(500).end(JSON.stringify({message: error.message}))
    }
  })
})
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({url: `http://127.0.0.1:${server.address().port}`})))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
