import {randomBytes} from 'node:crypto'

import type {PoolClient} from 'pg'

/**
 * The PostgreSQL schema's migrations, in order: `idp_schema_version` says how many have run.
 * Append only; never edit one that has shipped. Entities are jsonb documents with the fields that
 * searches and scans filter and order on as real, indexed columns.
 */
export const MIGRATIONS: ((client: PoolClient) => Promise<unknown>)[] = [
  (client) =>
    client.query(`
CREATE TABLE credentials (
  seq bigserial PRIMARY KEY, client_id text NOT NULL UNIQUE, client_secret text NOT NULL, role text NOT NULL,
  created_at text NOT NULL, email text, teams jsonb NOT NULL DEFAULT '[]');
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE blueprints (seq bigserial PRIMARY KEY, identifier text NOT NULL UNIQUE, data jsonb NOT NULL);
CREATE TABLE entities (
  seq bigserial PRIMARY KEY, blueprint text NOT NULL, identifier text NOT NULL,
  team text[] NOT NULL DEFAULT '{}', updated_at timestamptz, data jsonb NOT NULL,
  UNIQUE (blueprint, identifier));
CREATE INDEX entities_by_blueprint ON entities (blueprint, seq);
CREATE INDEX entities_by_team ON entities USING gin (team);
CREATE INDEX entities_by_updated_at ON entities (blueprint, updated_at);
CREATE TABLE relations (
  seq bigserial PRIMARY KEY, source bigint NOT NULL REFERENCES entities (seq) ON DELETE CASCADE,
  name text NOT NULL, blueprint text NOT NULL, identifier text NOT NULL);
CREATE INDEX relations_by_source ON relations (source);
CREATE INDEX relations_by_target ON relations (blueprint, identifier);
CREATE TABLE actions (seq bigserial PRIMARY KEY, identifier text NOT NULL UNIQUE, data jsonb NOT NULL);
CREATE TABLE action_permissions (identifier text PRIMARY KEY, data jsonb NOT NULL);
CREATE TABLE runs (
  seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE, action text NOT NULL, status text NOT NULL,
  entity text, blueprint text, external_run_id text, created_by text NOT NULL, source text NOT NULL,
  data jsonb NOT NULL);
CREATE INDEX runs_by_action ON runs (action, seq);
CREATE TABLE run_logs (seq bigserial PRIMARY KEY, run_id text NOT NULL, data jsonb NOT NULL);
CREATE INDEX run_logs_by_run ON run_logs (run_id, seq);
CREATE TABLE approvals (
  seq bigserial PRIMARY KEY, run_id text NOT NULL, client_id text NOT NULL, data jsonb NOT NULL,
  UNIQUE (run_id, client_id));
CREATE TABLE dispatches (
  seq bigserial PRIMARY KEY, run_id text NOT NULL UNIQUE, state text NOT NULL, attempts integer NOT NULL,
  available_at bigint NOT NULL, claimed_until bigint, installation_id text, context jsonb);
CREATE INDEX dispatches_by_state ON dispatches (state, available_at);
CREATE TABLE timers (
  blueprint text NOT NULL, entity text NOT NULL, property text NOT NULL, expires_at bigint NOT NULL,
  fired_at bigint, PRIMARY KEY (blueprint, entity, property));
CREATE INDEX timers_due ON timers (expires_at) WHERE fired_at IS NULL;
CREATE TABLE automation_events (
  seq bigserial PRIMARY KEY, automation text NOT NULL, event jsonb NOT NULL, depth integer NOT NULL);
CREATE TABLE audits (
  seq bigserial PRIMARY KEY, identifier text NOT NULL UNIQUE, at text NOT NULL, resource_type text NOT NULL,
  action text NOT NULL, status text NOT NULL, blueprint text, entity text, run_id text, data jsonb NOT NULL);
CREATE INDEX audits_by_entity ON audits (entity, blueprint);
CREATE INDEX audits_by_run ON audits (run_id) WHERE run_id IS NOT NULL;`),
  // The key access tokens are signed with, made once with the store.
  (client) => client.query("INSERT INTO meta VALUES ('token_key', $1)", [randomBytes(32).toString('base64')]),
  // Containment (`@>`) over documents: searches for a property's value read the entities that
  // have it, not a blueprint's every entity (see filter.ts).
  (client) => client.query('CREATE INDEX entities_by_content ON entities USING gin (data jsonb_path_ops)'),
  // The web view's sign-in links and sessions, shared by every process: SHA-256 hashes of their
  // tokens, deleted with their credential, pruned by expiry.
  (client) =>
    client.query(`
CREATE TABLE web_links (
  token_hash text PRIMARY KEY,
  client_id text NOT NULL REFERENCES credentials (client_id) ON DELETE CASCADE, expires_at bigint NOT NULL);
CREATE INDEX web_links_by_client ON web_links (client_id);
CREATE INDEX web_links_by_expiry ON web_links (expires_at);
CREATE TABLE web_sessions (
  token_hash text PRIMARY KEY,
  client_id text NOT NULL REFERENCES credentials (client_id) ON DELETE CASCADE, expires_at bigint NOT NULL);
CREATE INDEX web_sessions_by_client ON web_sessions (client_id);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);`),
  // Leases on deliveries and automation events, so that each is worked on by one process.
  (client) =>
    client.query(`
ALTER TABLE dispatches ADD COLUMN lease_owner text, ADD COLUMN lease_until bigint;
ALTER TABLE automation_events ADD COLUMN lease_owner text, ADD COLUMN lease_until bigint;`),
  // What the processes on one database share beside the data: --rate-limit's request counts per
  // caller and window, and when each agent last polled. Both are soon stale and rebuilt by the
  // next requests, so UNLOGGED: no WAL for them, and a crash merely empties them.
  (client) =>
    client.query(`
CREATE UNLOGGED TABLE request_counts (
  caller text NOT NULL, window_ends bigint NOT NULL, count integer NOT NULL, PRIMARY KEY (caller, window_ends));
CREATE UNLOGGED TABLE agent_polls (installation_id text PRIMARY KEY, polled_at bigint NOT NULL);`),
]

/** Any constant, the same in every idp: the advisory lock that lets one process migrate at a time. */
const MIGRATION_LOCK = 0x1d9_0001

/** The database is newer than this idp: it must not write to it. */
export class SchemaTooNewError extends Error {}

/**
 * Brings the schema up to date in one transaction under an advisory lock, so that processes
 * starting together migrate once: the others wait, then find nothing left to do. Refuses a
 * database that a newer idp migrated. Returns the versions before and after.
 */
export async function migrate(client: PoolClient): Promise<{from: number; to: number}> {
  await client.query('BEGIN')
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await client.query(`CREATE TABLE IF NOT EXISTS idp_schema_version (
      version integer NOT NULL, migrated_at timestamptz NOT NULL DEFAULT now())`)
    const {rows} = await client.query<{version: number | null}>(
      'SELECT max(version) AS version FROM idp_schema_version',
    )
    const from = rows[0]?.version ?? 0
    if (from > MIGRATIONS.length) {
      throw new SchemaTooNewError(
        `this portal database has schema version ${from}, newer than this idp knows (${MIGRATIONS.length}); upgrade idp`,
      )
    }
    for (let next = from; next < MIGRATIONS.length; next++) {
      await MIGRATIONS[next]!(client)
      await client.query('INSERT INTO idp_schema_version (version) VALUES ($1)', [next + 1])
    }
    await client.query('COMMIT')
    return {from, to: MIGRATIONS.length}
  } catch (error) {
    await client.query('ROLLBACK')
    throw error
  }
}
