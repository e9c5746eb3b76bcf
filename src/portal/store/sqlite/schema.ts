import {randomBytes} from 'node:crypto'

import type Database from 'better-sqlite3'

/** The schema of the first releases (before schema versions were recorded). */
const SCHEMA_1 = `
CREATE TABLE IF NOT EXISTS credentials (
  client_id TEXT PRIMARY KEY, client_secret TEXT NOT NULL, role TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, client_id TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tokens_by_client ON tokens (client_id, expires_at);
CREATE TABLE IF NOT EXISTS blueprints (seq INTEGER PRIMARY KEY, identifier TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entities (
  seq INTEGER PRIMARY KEY, blueprint TEXT NOT NULL, identifier TEXT NOT NULL, data TEXT NOT NULL,
  UNIQUE (blueprint, identifier));
CREATE TABLE IF NOT EXISTS relations (
  source INTEGER NOT NULL REFERENCES entities (seq) ON DELETE CASCADE,
  name TEXT NOT NULL, blueprint TEXT NOT NULL, identifier TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS relations_by_source ON relations (source);
CREATE INDEX IF NOT EXISTS relations_by_target ON relations (blueprint, identifier);
CREATE TABLE IF NOT EXISTS actions (seq INTEGER PRIMARY KEY, identifier TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, action TEXT NOT NULL, status TEXT NOT NULL,
  entity TEXT, blueprint TEXT, external_run_id TEXT, created_by TEXT NOT NULL, source TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_by_action ON runs (action, seq);
CREATE TABLE IF NOT EXISTS run_logs (seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS run_logs_by_run ON run_logs (run_id, seq);
CREATE TABLE IF NOT EXISTS dispatches (
  seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL UNIQUE, state TEXT NOT NULL, attempts INTEGER NOT NULL,
  available_at INTEGER NOT NULL, claimed_until INTEGER, installation_id TEXT, context TEXT);
CREATE INDEX IF NOT EXISTS dispatches_by_state ON dispatches (state, available_at);
CREATE TABLE IF NOT EXISTS timers (
  blueprint TEXT NOT NULL, entity TEXT NOT NULL, property TEXT NOT NULL, expires_at INTEGER NOT NULL,
  fired_at INTEGER, PRIMARY KEY (blueprint, entity, property));
CREATE INDEX IF NOT EXISTS timers_due ON timers (fired_at, expires_at);
CREATE TABLE IF NOT EXISTS action_permissions (identifier TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS approvals (
  seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, client_id TEXT NOT NULL, data TEXT NOT NULL,
  UNIQUE (run_id, client_id));
`

/**
 * Schema migrations, in order: the database's `user_version` says how many have run. Each runs in
 * a transaction with its version bump. Append only; never edit one that has shipped.
 */
const MIGRATIONS: ((db: Database.Database) => void)[] = [
  // 1: the first schema. Databases made before versions were recorded have it already, perhaps
  // without the columns added along the way.
  (db) => {
    db.exec(SCHEMA_1)
    const columns = (table: string) =>
      db
        .prepare<[], {name: string}>(`PRAGMA table_info(${table})`)
        .all()
        .map((row) => row.name)
    if (!columns('credentials').includes('email')) db.exec('ALTER TABLE credentials ADD COLUMN email TEXT')
    if (!columns('credentials').includes('teams'))
      db.exec("ALTER TABLE credentials ADD COLUMN teams TEXT NOT NULL DEFAULT '[]'")
    if (!columns('tokens').includes('run_id')) db.exec('ALTER TABLE tokens ADD COLUMN run_id TEXT')
  },
  // 2: automation events whose jq conditions are evaluated outside the write that caused them.
  (db) => {
    db.exec(
      'CREATE TABLE automation_events (seq INTEGER PRIMARY KEY, automation TEXT NOT NULL, event TEXT NOT NULL, depth INTEGER NOT NULL)',
    )
  },
  // 3: access tokens are signed with a key of the portal's instead of stored.
  (db) => {
    db.exec('DROP TABLE tokens; CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)')
    db.prepare("INSERT INTO meta VALUES ('token_key', ?)").run(randomBytes(32).toString('base64'))
  },
  // 4: the audit log; `data` is the record as answered. Indexed for what members ask (an entity, a
  // run); admins' other filters scan, which keeps every write's cost down.
  (db) => {
    db.exec(`CREATE TABLE audits (seq INTEGER PRIMARY KEY, identifier TEXT NOT NULL UNIQUE, at TEXT NOT NULL,
      resource_type TEXT NOT NULL, action TEXT NOT NULL, status TEXT NOT NULL, blueprint TEXT, entity TEXT,
      run_id TEXT, data TEXT NOT NULL);
      CREATE INDEX audits_by_entity ON audits (entity, blueprint);
      CREATE INDEX audits_by_run ON audits (run_id) WHERE run_id IS NOT NULL;`)
  },
  // 5: a blueprint's entities in storage order (scans and searches page by seq; the unique index
  // orders by identifier, which made every page sort the whole blueprint), and every stored entity
  // in its wire form, so that answers embed the stored text as it is.
  (db) => {
    db.exec(`CREATE INDEX entities_by_blueprint ON entities (blueprint, seq);
      UPDATE entities SET data = json_set(data, '$.team', json('[]')) WHERE data -> '$.team' IS NULL;`)
  },
  // 6: the web view's sign-in links and sessions, which a restart keeps: SHA-256 hashes of their
  // tokens, deleted with their credential, pruned by expiry. (IF NOT EXISTS: a database rewound to an
  // earlier version, as tests do, migrates again.)
  (db) => {
    db.exec(`CREATE TABLE IF NOT EXISTS web_links (token_hash TEXT PRIMARY KEY,
        client_id TEXT NOT NULL REFERENCES credentials (client_id) ON DELETE CASCADE, expires_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS web_links_by_client ON web_links (client_id);
      CREATE INDEX IF NOT EXISTS web_links_by_expiry ON web_links (expires_at);
      CREATE TABLE IF NOT EXISTS web_sessions (token_hash TEXT PRIMARY KEY,
        client_id TEXT NOT NULL REFERENCES credentials (client_id) ON DELETE CASCADE, expires_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS web_sessions_by_client ON web_sessions (client_id);
      CREATE INDEX IF NOT EXISTS web_sessions_by_expiry ON web_sessions (expires_at);`)
  },
  // 7: leases on deliveries and automation events, so that each is worked on by one process.
  // (Skipped where the columns exist: a database rewound to an earlier version, as tests do, migrates again.)
  (db) => {
    for (const table of ['dispatches', 'automation_events']) {
      const leased = db.prepare(`SELECT 1 FROM pragma_table_info('${table}') WHERE name = 'lease_owner'`).get()
      if (leased) continue
      db.exec(`ALTER TABLE ${table} ADD COLUMN lease_owner TEXT; ALTER TABLE ${table} ADD COLUMN lease_until INTEGER`)
    }
  },
]

/** Brings a database to this idp's schema, one migration at a time; refuses one made by a newer idp. */
export function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', {simple: true}) as number
  if (version > MIGRATIONS.length) {
    throw new Error(`this portal database has schema version ${version}, newer than this idp knows; upgrade idp`)
  }
  for (let next = version; next < MIGRATIONS.length; next++) {
    db.transaction(() => {
      MIGRATIONS[next]!(db)
      db.pragma(`user_version = ${next + 1}`)
    })()
  }
}

/** The schema version this idp's migrations bring a database to. */
export const SCHEMA_VERSION = MIGRATIONS.length
