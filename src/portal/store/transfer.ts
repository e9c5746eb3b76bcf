/**
 * What `idp portal copy` moves from one store to another, table by table, in a shape neither store
 * owns: each table's columns as both schemas name them, JSON columns as their text, times as the
 * portal wrote them. Each store's folder maps its own tables to and from it (sqlite/export.ts,
 * postgres/import.ts).
 */

/** Every table a copy moves, in the order it writes them: a relation after its entity. */
export const COPIED_TABLES = [
  'credentials',
  'meta',
  'blueprints',
  'entities',
  'relations',
  'actions',
  'action_permissions',
  'runs',
  'run_logs',
  'approvals',
  'dispatches',
  'timers',
  'automation_events',
  'audits',
] as const
export type CopiedTable = (typeof COPIED_TABLES)[number]

/** The tables a copy leaves behind, and why. */
export const NOT_COPIED: Record<string, string> = {
  web_links: "one-time sign-in links, minutes long, to the old portal's address",
  web_sessions: "browser sessions, whose cookies belong to the old portal's address: people sign in to the new one",
}

/** A table's row. `seq` keeps each table's order (and what relations point at) in the copy. */
export interface TableRows {
  credentials: {
    seq: number
    client_id: string
    client_secret: string
    role: string
    created_at: string
    email: string | null
    teams: string
  }
  /** The token-signing key and the portal's settings. */
  meta: {key: string; value: string}
  blueprints: {seq: number; identifier: string; data: string}
  entities: {seq: number; blueprint: string; identifier: string; data: string}
  /** `source` is the seq of the entity whose relation this is. */
  relations: {seq: number; source: number; name: string; blueprint: string; identifier: string}
  actions: {seq: number; identifier: string; data: string}
  action_permissions: {identifier: string; data: string}
  runs: {
    seq: number
    id: string
    action: string
    status: string
    entity: string | null
    blueprint: string | null
    external_run_id: string | null
    created_by: string
    source: string
    data: string
  }
  run_logs: {seq: number; run_id: string; data: string}
  approvals: {seq: number; run_id: string; client_id: string; data: string}
  dispatches: {
    seq: number
    run_id: string
    state: string
    attempts: number
    available_at: number
    claimed_until: number | null
    installation_id: string | null
    context: string | null
  }
  timers: {blueprint: string; entity: string; property: string; expires_at: number; fired_at: number | null}
  automation_events: {seq: number; automation: string; event: string; depth: number}
  audits: {
    seq: number
    identifier: string
    at: string
    resource_type: string
    action: string
    status: string
    blueprint: string | null
    entity: string | null
    run_id: string | null
    data: string
  }
}

export type TableCounts = Record<CopiedTable, number>
