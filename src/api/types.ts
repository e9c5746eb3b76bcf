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
