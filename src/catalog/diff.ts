import {refKey, type Action as PortAction, type Blueprint, type Entity, type EntityInput} from '../model/port.js'
import {canonicalAction, canonicalBlueprint, relationValue, same, teamValue} from '../domain/canonical.js'
import {Ownership, REGISTRY_BLUEPRINT} from './ownership.js'
import type {RemoteState} from './remote.js'
import type {CatalogSource} from './source.js'
import type {LocalCatalog, LocalEntity, Problem} from './types.js'

export type Action = 'create' | 'update' | 'unchanged' | 'delete'

export interface BlueprintChange {
  kind: 'blueprint'
  action: Action
  identifier: string
  fields?: string[]
  file?: string
  /** The desired blueprint (create/update). */
  desired?: Blueprint
}

export interface FieldValues {
  from: unknown
  to: unknown
}

export interface EntityChange {
  kind: 'entity'
  action: Action
  blueprint: string
  identifier: string
  fields?: string[]
  file?: string
  /** The body to upsert (create/update), with only the fields the file manages. */
  desired?: EntityInput & {identifier: string}
  /** Updates: each changed field, as on the portal and as in the file. */
  values?: Record<string, FieldValues>
}

export interface ActionChange {
  kind: 'action'
  action: Action
  identifier: string
  fields?: string[]
  file?: string
  desired?: PortAction
}

export type Change = BlueprintChange | ActionChange | EntityChange

/**
 * A document that exists on the portal but no catalog source created: sync updates it, but only
 * with --adopt does this source take ownership (and so may later prune it).
 */
export interface Unowned {
  change: Change
  adopt: boolean
}

export interface Plan {
  source: CatalogSource | undefined
  blueprints: BlueprintChange[]
  actions: ActionChange[]
  entities: EntityChange[]
  /** Documents owned by another catalog source: refused unless forced. */
  conflicts: Problem[]
  /** Documents this source created that are gone from the folder (deleted only with prune). */
  prunable: number
  /** Documents in the folder that exist on the portal but no source owns (taken over with --adopt). */
  unowned: Unowned[]
}

export interface PlanOptions {
  prune: boolean
  /** Take over documents another source owns. */
  force: boolean
  /** Take ownership of documents that already exist and no source owns. */
  adopt: boolean
}

/**
 * The one diff engine behind `plan`, `sync --dry-run` and `sync`. Only fields the files manage are
 * compared: a blueprint or an action as a whole (it is replaced), an entity's title/icon/team when
 * the file has them and only the properties and relations the file names (it is merged).
 */
export function computePlan(
  catalog: LocalCatalog,
  remote: RemoteState,
  ownership: Ownership,
  source: CatalogSource | undefined,
  options: PlanOptions,
): Plan {
  const plan: Plan = {actions: [], blueprints: [], conflicts: [], entities: [], prunable: 0, source, unowned: []}
  /** An existing document: owned by this source already, or by none (then adopted only on request). */
  const existingIn = <C extends Change>(key: string, change: C): C => {
    if (source && !ownership.owners.has(key)) plan.unowned.push({adopt: options.adopt, change})
    return change
  }
  const contested = source !== undefined && !options.force && ownership.owners.size > 0
  const claim = (key: string, file: string, pointer: string, what: string) => {
    if (!contested) return
    const owner = ownership.owners.get(key)
    if (owner && owner.key !== source!.key) {
      plan.conflicts.push({
        file,
        message: `${what} is managed by catalog source "${owner.name}"; sync it from there, or pass --force to take it over`,
        pointer,
        severity: 'error',
      })
    }
  }

  for (const {at, file, value} of catalog.blueprints) {
    claim(Ownership.key('blueprint', value.identifier), file, `${at}/identifier`, `blueprint "${value.identifier}"`)
    const desired = canonicalBlueprint(value)
    const existing = remote.blueprints.get(value.identifier)
    if (!existing)
      plan.blueprints.push({action: 'create', desired, file, identifier: value.identifier, kind: 'blueprint'})
    else {
      const fields = blueprintChanges(desired, canonicalBlueprint(existing))
      const action = fields.length > 0 ? 'update' : 'unchanged'
      const change: BlueprintChange = {
        action,
        desired,
        file,
        identifier: value.identifier,
        kind: 'blueprint',
        ...(fields.length ? {fields} : {}),
      }
      plan.blueprints.push(existingIn(Ownership.key('blueprint', value.identifier), change))
    }
  }

  for (const {at, file, value} of catalog.actions) {
    claim(Ownership.key('action', value.identifier), file, `${at}/identifier`, `action "${value.identifier}"`)
    const desired = canonicalAction(value)
    const existing = remote.actions.get(value.identifier)
    if (!existing) plan.actions.push({action: 'create', desired, file, identifier: value.identifier, kind: 'action'})
    else {
      const current = canonicalAction(existing) as Record<string, unknown>
      const wanted = desired as Record<string, unknown>
      const fields = [...new Set([...Object.keys(wanted), ...Object.keys(current)])]
        .filter((key) => !same(wanted[key], current[key]))
        .sort()
      const change: ActionChange = {
        action: fields.length > 0 ? 'update' : 'unchanged',
        desired,
        file,
        identifier: value.identifier,
        kind: 'action',
        ...(fields.length ? {fields} : {}),
      }
      plan.actions.push(existingIn(Ownership.key('action', value.identifier), change))
    }
  }

  for (const {at, file, value} of catalog.entities) {
    claim(
      Ownership.key('entity', value.blueprint, value.identifier),
      file,
      `${at}/identifier`,
      `entity "${value.identifier}"`,
    )
    const existing = remote.entities.get(value.blueprint)?.get(value.identifier)
    const base = {blueprint: value.blueprint, file, identifier: value.identifier, kind: 'entity'} as const
    if (!existing) plan.entities.push({...base, action: 'create', desired: entityBody(value)})
    else {
      const fields = entityChanges(value, existing)
      const change: EntityChange =
        fields.length === 0
          ? {...base, action: 'unchanged'}
          : {
              ...base,
              action: 'update',
              desired: entityBody(value),
              fields,
              values: fieldValues(value, existing, fields),
            }
      plan.entities.push(existingIn(Ownership.key('entity', value.blueprint, value.identifier), change))
    }
  }

  if (source) {
    const deletes: Change[] = []
    const owned = ownership.ownedBy(source.key)
    const localEntities = new Set(catalog.entities.map(({value}) => refKey(value)))
    for (const [blueprint, identifiers] of owned.entities) {
      for (const identifier of identifiers) {
        if (localEntities.has(refKey({blueprint, identifier})) || !remote.entities.get(blueprint)?.has(identifier))
          continue
        deletes.push({action: 'delete', blueprint, identifier, kind: 'entity'})
      }
    }
    const localActions = new Set(catalog.actions.map(({value}) => value.identifier))
    for (const identifier of owned.actions) {
      if (localActions.has(identifier) || !remote.actions.has(identifier)) continue
      deletes.push({action: 'delete', identifier, kind: 'action'})
    }
    const localBlueprints = new Set(catalog.blueprints.map(({value}) => value.identifier))
    for (const identifier of owned.blueprints) {
      if (localBlueprints.has(identifier) || identifier === REGISTRY_BLUEPRINT || !remote.blueprints.has(identifier))
        continue
      deletes.push({action: 'delete', identifier, kind: 'blueprint'})
    }
    if (!options.prune) plan.prunable = deletes.length
    else
      for (const change of deletes)
        ({action: plan.actions, blueprint: plan.blueprints, entity: plan.entities})[change.kind].push(change as never)
  }
  return plan
}

/** The fields the file names, as the portal's merge-upsert takes them (null clears). */
function entityBody(value: LocalEntity): EntityInput & {identifier: string} {
  const body: EntityInput & {identifier: string} = {identifier: value.identifier}
  for (const key of ['title', 'icon', 'team'] as const) if (key in value) body[key] = value[key] as never
  body.properties = value.properties ?? {}
  body.relations = value.relations ?? {}
  return body
}

export function entityChanges(local: LocalEntity, remote: Entity): string[] {
  const fields: string[] = []
  for (const key of ['title', 'icon'] as const) {
    if (key in local && (local[key] ?? undefined) !== (remote[key] ?? undefined)) fields.push(key)
  }
  if ('team' in local && !sameMembers(teamValue(local.team), teamValue(remote.team))) fields.push('team')
  const properties = remote.properties ?? {}
  for (const key in local.properties) {
    if (!same(local.properties[key] ?? null, properties[key] ?? null)) fields.push(`properties.${key}`)
  }
  const relations = remote.relations ?? {}
  for (const key in local.relations) {
    if (!sameRelation(local.relations[key], relations[key])) fields.push(`relations.${key}`)
  }
  return fields
}

/** Each changed field's value on the portal (`from`) and in the file (`to`). */
function fieldValues(local: LocalEntity, remote: Entity, fields: string[]): Record<string, FieldValues> {
  const read = (entity: LocalEntity | Entity, field: string): unknown => {
    const [group, name] = field.split(/\.(.*)/s) as [string, string | undefined]
    if (name === undefined) return (entity as Record<string, unknown>)[group] ?? null
    return ((entity as Record<string, Record<string, unknown> | undefined>)[group]?.[name] ?? null) as unknown
  }
  return Object.fromEntries(fields.map((field) => [field, {from: read(remote, field), to: read(local, field)}]))
}

/** Relation values: null, [] and absent are equal; many-relations compare as sets. */
function sameRelation(a: unknown, b: unknown): boolean {
  const left = relationValue(a)
  const right = relationValue(b)
  if (left === right) return true
  if (!Array.isArray(left) || !Array.isArray(right)) return false
  return sameMembers(left as string[], right as string[])
}

function sameMembers(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false
  if (a.length === 1) return a[0] === b[0]
  const members = new Set(b)
  return a.every((item) => members.has(item))
}

const MAPS = ['relations', 'mirrorProperties', 'calculationProperties', 'aggregationProperties'] as const

/** Changed fields of two canonical blueprints, naming individual properties and relations. */
export function blueprintChanges(desired: Blueprint, existing: Blueprint): string[] {
  const fields: string[] = []
  const keys = new Set([...Object.keys(desired), ...Object.keys(existing)])
  for (const key of keys) {
    if (key === 'schema') {
      const names = new Set([...Object.keys(desired.schema.properties), ...Object.keys(existing.schema.properties)])
      for (const name of names) {
        if (!same(desired.schema.properties[name], existing.schema.properties[name]))
          fields.push(`schema.properties.${name}`)
      }
      if (!same([...(desired.schema.required ?? [])].sort(), [...(existing.schema.required ?? [])].sort()))
        fields.push('schema.required')
    } else if ((MAPS as readonly string[]).includes(key)) {
      const a = (desired[key] ?? {}) as Record<string, unknown>
      const b = (existing[key] ?? {}) as Record<string, unknown>
      for (const name of new Set([...Object.keys(a), ...Object.keys(b)]))
        if (!same(a[name], b[name])) fields.push(`${key}.${name}`)
    } else if (!same(desired[key], existing[key])) {
      fields.push(key)
    }
  }
  return fields
}

export interface PlanCounts {
  create: number
  update: number
  unchanged: number
  delete: number
}

export function countPlan(plan: Plan): PlanCounts {
  const counts = {create: 0, delete: 0, unchanged: 0, update: 0}
  for (const change of [...plan.blueprints, ...plan.actions, ...plan.entities]) counts[change.action]++
  return counts
}
