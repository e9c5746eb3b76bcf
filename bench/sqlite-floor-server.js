// The write-path floor: parse the bulk body and upsert each row, one transaction a request.
import {createServer} from 'node:http'
import {join} from 'node:path'

import Database from 'better-sqlite3'

const db = new Database(join(process.argv[2], 'floor.db'))
db.pragma('journal_mode = WAL')
db.pragma('synchronous = NORMAL')
db.exec('CREATE TABLE entities (seq INTEGER PRIMARY KEY, identifier TEXT NOT NULL UNIQUE, data TEXT NOT NULL)')
const upsert = db.prepare(
  'INSERT INTO entities (identifier, data) VALUES (?, ?) ON CONFLICT (identifier) DO UPDATE SET data = excluded.data',
)
const write = db.transaction((entities) => {
  for (const entity of entities) upsert.run(entity.identifier, JSON.stringify(entity))
})

const server = createServer((request, response) => {
  const chunks = []
  request.on('data', (chunk) => chunks.push(chunk))
  request.on('end', () => {
    const {entities} = JSON.parse(Buffer.concat(chunks).toString())
    write(entities)
    response.writeHead(200, {'content-type': 'application/json'}).end('{"ok":true}')
  })
})
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({url: `http://127.0.0.1:${server.address().port}`})))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
