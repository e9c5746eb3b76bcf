import type {UserInputs} from './inputs.js'

/** Port's wire shapes (see ../shared/reference/port-api.md §3–§4). */

export interface Audit {
  createdAt?: string
  createdBy?: string
  updatedAt?: string
  updatedBy?: string
}

export interface PropertySchema {
  type: 'string' | 'number' | 'boolean' | 'object' | 'array'
  title?: string
  format?: string
  enum?: unknown[]
  default?: unknown
  items?: Partial<PropertySchema> & Record<string, unknown>
  [keyword: string]: unknown
}

export interface Relation {
  target: string
  required: boolean
  many: boolean
  title?: string
  description?: string
}

export interface Blueprint extends Audit {
  identifier: string
  title: string
  description?: string
  icon?: string
  schema: {properties: Record<string, PropertySchema>; required?: string[]}
  relations?: Record<string, Relation>
  mirrorProperties?: Record<string, unknown>
  calculationProperties?: Record<string, unknown>
  aggregationProperties?: Record<string, unknown>
  ownership?: Record<string, unknown>
  changelogDestination?: Record<string, unknown>
  [key: string]: unknown
}

export type RelationValue = string | string[] | null

/**
 * An entity as stored. Port's API responses carry only identifier, title, icon, team,
 * properties and relations; `blueprint` and the audit fields are set by the portal's store.
 */
export interface Entity extends Audit {
  identifier: string
  blueprint?: string
  title?: string
  icon?: string
  team?: string[]
  properties: Record<string, unknown>
  relations: Record<string, RelationValue>
}

/** What a client sends: identifier optional on create, team may be a single string. */
export interface EntityInput {
  identifier?: string
  title?: string | null
  icon?: string | null
  team?: string | string[] | null
  properties?: Record<string, unknown>
  relations?: Record<string, RelationValue>
  [key: string]: unknown
}

export interface Rule {
  property?: string | Record<string, unknown>
  operator: string
  value?: unknown
  blueprint?: string
  direction?: 'upstream' | 'downstream'
  [key: string]: unknown
}

export interface EntitiesQuery {
  combinator: 'and' | 'or'
  rules: (Rule | EntitiesQuery)[]
}

export interface UpsertOptions {
  upsert?: boolean
  merge?: boolean
  validationOnly?: boolean
  createMissingRelatedEntities?: boolean
  runId?: string
}

export interface BulkResult {
  entities: {identifier: string; index: number; created: boolean; additionalData?: Record<string, unknown>}[]
  errors: {identifier: string; index: number; statusCode: number; error: string; message: string}[]
}

export type Operation = 'CREATE' | 'DAY-2' | 'DELETE'

export interface Action extends Audit {
  identifier: string
  id?: string
  title?: string
  icon?: string
  description?: string
  trigger: {
    type: 'self-service' | 'automation'
    operation?: Operation
    blueprintIdentifier?: string
    userInputs?: UserInputs
    event?: {type: string; blueprintIdentifier?: string; propertyIdentifier?: string; actionIdentifier?: string}
    condition?: Record<string, unknown>
    [key: string]: unknown
  }
  invocationMethod: {type: string; [key: string]: unknown}
  requiredApproval?: boolean | {type: 'ANY' | 'ALL'}
  approvalNotification?: {type: 'email'} | {type: 'webhook'; url: string; format?: 'json' | 'slack'}
  publish?: boolean
  [key: string]: unknown
}

export type RunStatus = 'IN_PROGRESS' | 'WAITING_FOR_APPROVAL' | 'SUCCESS' | 'FAILURE' | 'DECLINED'
/**
 * The blueprint whose entities record which catalog source owns what (`idp catalog sync`).
 * The embedded portal lets only admins write them, so prune can trust them.
 */
export const OWNERSHIP_BLUEPRINT = 'idp-catalog-source'

export const TERMINAL_STATUSES: readonly RunStatus[] = ['SUCCESS', 'FAILURE', 'DECLINED']

/** One string per entity, for sets and maps of them (identifiers may hold any character but NUL). */
export const refKey = (ref: {blueprint: string; identifier: string}): string =>
  `${ref.blueprint}\u0000${ref.identifier}`

/** Whether a run has ended (SUCCESS, FAILURE or DECLINED), which is final. */
export const isFinal = (run: {status: RunStatus}): boolean => TERMINAL_STATUSES.includes(run.status)

export interface Ref {
  identifier: string
  title: string | null
  icon: string | null
  deleted?: boolean
}

/** Who may execute an action and who approves its runs (Port's `/v1/actions/{id}/permissions`). */
export interface PermissionBlock {
  users: string[]
  roles: string[]
  teams: string[]
  ownedByTeam?: boolean
  policy?: {queries: Record<string, unknown>; conditions: string[]} | null
}

export interface ActionPermissions {
  execute: PermissionBlock
  approve: PermissionBlock
}

export interface Run {
  id: string
  status: RunStatus
  statusLabel: string | null
  action: Ref
  blueprint?: Ref
  entity?: Ref
  properties: Record<string, unknown>
  source: 'UI' | 'API' | 'AUTOMATION'
  requiredApproval: boolean | {type: 'ANY' | 'ALL'}
  approval: {state: string; userId: string | null; description?: string} | null
  link: string[]
  summary?: string
  externalRunId?: string
  payload?: Record<string, unknown> | null
  /** Queued for an agent and not acknowledged yet. */
  pendingExecution?: boolean
  response?: unknown
  endedAt?: string
  createdAt: string
  createdBy: string
  updatedAt: string
  updatedBy: string
}

export interface RunLog {
  id: string
  runId: string
  message: string
  createdBy: string
  createdAt: string
}

export interface RunFilter {
  action?: string | undefined
  entity?: string | undefined
  blueprint?: string | undefined
  active?: boolean | undefined
  externalRunId?: string | undefined
  userId?: string | undefined
  source?: string[] | undefined
  limit: number
}

/** One audit-log record (`GET /v1/audit-log`), in Port's shape. */
export interface AuditRecord {
  identifier: string
  action: 'CREATE' | 'UPDATE' | 'DELETE'
  resourceType: 'blueprint' | 'entity' | 'action' | 'run'
  status: 'SUCCESS' | 'FAILURE'
  trigger: {at: string; by: {orgId: string; userId: string}; origin: string}
  context: {blueprint?: string; entity?: string; action?: string; runId?: string}
  diff: {before: unknown; after: unknown}
  additionalData: Record<string, unknown>
  message?: string
}

export interface AuditFilter {
  identifier?: string | undefined
  entity?: string | undefined
  blueprint?: string | undefined
  runId?: string | undefined
  resources?: string[] | undefined
  action?: string | undefined
  status?: string | undefined
  /** ISO times, inclusive. */
  from?: string | undefined
  to?: string | undefined
  limit: number
}
