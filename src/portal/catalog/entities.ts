import {refKey, type Blueprint, type EntityInput, type RelationValue} from '../../model/port.js'
import {checkEntity, relationTargets, relationTargetsOf, withoutNulls} from '../../domain/entity-rules.js'
import {conflict, invalid, notFound, PortalError} from '../http/errors.js'
import {TEAM_BLUEPRINT} from '../../model/system-blueprints.js'
import {inheritedPath, InheritedTeams} from './inherited-teams.js'
import {generateId} from '../ids.js'
import type {ChangeQueue} from '../writes/unit-of-work.js'
import {groupBy} from '../../domain/order.js'
import {
  blueprintLookup,
  type Dependent,
  type EntityRef,
  type RemovedTarget,
  type Store,
  type StoredEntity,
} from '../store/store.js'

export type WriteMode =
  /** POST without upsert: 409 if it exists. */
  | 'create'
  /** POST upsert=true: create or overwrite. */
  | 'upsert'
  /** POST upsert=true&merge=true: create or change only the fields sent. */
  | 'merge'
  /** PUT: overwrite; 404 if missing. */
  | 'replace'
  /** PATCH: change only the fields sent; 404 if missing. */
  | 'patch'

/** Who writes, when, and for which run (`run_id`: the audit log ties the change to it). */
export interface WriteAudit {
  actor: string
  now: Date
  runId?: string | undefined
}

export interface WriteOptions extends WriteAudit {
  mode: WriteMode
  createMissingRelated?: boolean
  validationOnly?: boolean
}

/** Entity writes with Port's semantics; callers wrap them in a transaction. */
export class Entities {
  constructor(
    private readonly store: Store,
    private readonly changes?: ChangeQueue,
    private readonly inherited = new InheritedTeams(store, changes),
  ) {}

  async blueprint(identifier: string): Promise<Blueprint> {
    const blueprint = await this.store.getBlueprint(identifier)
    if (!blueprint) throw notFound(`Blueprint "${identifier}" was not found`)
    return blueprint
  }

  async write(
    blueprint: Blueprint,
    input: EntityInput,
    options: WriteOptions,
  ): Promise<{entity: StoredEntity; created: boolean}> {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw new PortalError(422, 'invalid_request', 'The entity must be a JSON object')
    }
    if (typeof input.identifier === 'object' && input.identifier !== null) {
      throw new PortalError(422, 'invalid_request', 'Search-query identifiers are not supported by the embedded portal')
    }
    const identifier = input.identifier ?? generateId('e')
    const existing = await this.store.getEntity(blueprint.identifier, identifier)
    const {mode} = options
    if (existing && mode === 'create') {
      throw conflict(`An entity with identifier "${identifier}" already exists in blueprint "${blueprint.identifier}"`)
    }
    if (!existing && (mode === 'replace' || mode === 'patch')) {
      throw notFound(`Entity "${identifier}" of blueprint "${blueprint.identifier}" was not found`)
    }

    const merging = existing && (mode === 'merge' || mode === 'patch')
    const candidate: EntityInput = merging ? mergeInto(existing, input) : withDefaults(blueprint, {...input})
    candidate.identifier = identifier
    delete candidate.blueprint
    // Port answers a relation its blueprint lacks as a missing resource (404), not a bad value.
    const unknownRelation = Object.keys(candidate.relations ?? {}).find((name) => !blueprint.relations?.[name])
    if (unknownRelation !== undefined) {
      throw new PortalError(
        404,
        'relation_not_found',
        `Relation "${unknownRelation}" was not found in blueprint "${blueprint.identifier}"`,
      )
    }
    const issues = checkEntity(candidate, blueprint)
    if (issues.length > 0)
      throw invalid(`Entity "${identifier}" does not match blueprint "${blueprint.identifier}"`, issues)

    const entity = normalize(blueprint, candidate as EntityInput & {identifier: string}, existing, options)
    // An inherited team comes from the relation path, whatever the request said.
    if (inheritedPath(blueprint)) entity.team = await this.inherited.teamsFor(blueprint, entity)
    else await this.ensureTeams(entity)
    await this.ensureTargets(blueprint, entity, options)
    if (!options.validationOnly) {
      await this.store.putEntity(entity, relationTargetsOf(blueprint))
      this.changes?.push({
        action: existing ? 'UPDATE' : 'CREATE',
        after: entity,
        before: existing ?? null,
        blueprint: blueprint.identifier,
        by: options.actor,
        identifier: entity.identifier,
        kind: 'entity',
        runId: options.runId,
      })
    }
    return {created: !existing, entity}
  }

  /**
   * Deletes entities of one blueprint (404 if one is missing, unless `ignoreMissing`: a bulk
   * delete, or a cascade that took some already, skips them). Entities that require one of them
   * (a required relation) block the delete, unless `deleteDependents` deletes them too. Optional
   * relations into what is deleted are emptied, each source rewritten once however many of its
   * targets go: the cost follows what changes, not how many targets a source lists.
   */
  async delete(
    blueprint: string,
    identifiers: string[],
    {
      deleteDependents = false,
      ignoreMissing = false,
      ...audit
    }: WriteAudit & {
      deleteDependents?: boolean
      ignoreMissing?: boolean
    },
  ): Promise<string[]> {
    const existing = await this.store.existingEntities(blueprint, identifiers)
    const missing = identifiers.find((identifier) => !existing.has(identifier))
    if (missing !== undefined && !ignoreMissing)
      throw notFound(`Entity "${missing}" of blueprint "${blueprint}" was not found`)
    const owner = blueprintLookup(this.store)
    // What goes, level by level: the named entities, then (with deleteDependents) what requires them.
    const doomed = new Set<string>()
    const levels: EntityRef[][] = []
    const links: {source: Dependent; target: EntityRef}[] = []
    const blocking: {source: Dependent; target: EntityRef}[] = []
    for (let level = [...existing].map((identifier) => ({blueprint, identifier})); level.length > 0;) {
      const fresh: EntityRef[] = []
      for (const ref of level) {
        if (doomed.has(refKey(ref))) continue
        doomed.add(refKey(ref))
        fresh.push(ref)
      }
      levels.push(fresh)
      level = []
      for (const target of fresh) {
        for (const source of await this.store.dependents(target)) {
          if (refKey(source) === refKey(target)) continue
          const relation = (await owner(source.blueprint))?.relations?.[source.relation]
          if (relation?.required) {
            if (deleteDependents) level.push(source)
            else blocking.push({source, target})
          } else links.push({source, target})
        }
      }
    }
    const blocked = blocking.find(({source}) => !doomed.has(refKey(source)))
    if (blocked) {
      const {source, target} = blocked
      throw new PortalError(
        422,
        'has_dependents',
        `Entity "${target.identifier}" of blueprint "${target.blueprint}" is required by "${source.identifier}" (${source.blueprint}.${source.relation}); delete it first or pass delete_dependents=true`,
      )
    }
    const unlinks = new Map<string, {source: EntityRef; removed: RemovedTarget[]}>()
    for (const {source, target} of links) {
      if (doomed.has(refKey(source)) || !(await owner(source.blueprint))) continue
      const entry = unlinks.get(refKey(source)) ?? {removed: [], source}
      entry.removed.push({relation: source.relation, target})
      unlinks.set(refKey(source), entry)
    }
    for (const {removed, source} of unlinks.values()) await this.unlink(source, removed, audit)
    const deleted: string[] = []
    for (const ref of levels.reverse().flat()) {
      const before = await this.store.getEntity(ref.blueprint, ref.identifier)
      await this.store.deleteEntity(ref.blueprint, ref.identifier)
      deleted.push(ref.identifier)
      this.changes?.push({
        action: 'DELETE',
        after: null,
        before: before ?? null,
        blueprint: ref.blueprint,
        by: audit.actor,
        identifier: ref.identifier,
        kind: 'entity',
        runId: audit.runId,
      })
    }
    return deleted
  }

  /** Deleted targets leave optional relations without them (empty ones are dropped), as in Port. */
  private async unlink(source: EntityRef, removed: RemovedTarget[], audit: WriteAudit) {
    const entity = await this.store.getEntity(source.blueprint, source.identifier)
    if (!entity) return
    const relations = {...entity.relations}
    for (const [name, group] of groupBy(removed, (item) => item.relation)) {
      const targets = new Set(group.map((item) => item.target.identifier))
      const value = relations[name]
      const kept = relationTargets(value).filter((id) => !targets.has(id))
      if (kept.length === 0) delete relations[name]
      else relations[name] = Array.isArray(value) ? kept : kept[0]!
    }
    const updated = {...entity, relations, updatedAt: audit.now.toISOString(), updatedBy: audit.actor}
    await this.store.unlinkEntity(updated, removed)
    this.changes?.push({
      action: 'UPDATE',
      after: updated,
      before: entity,
      blueprint: source.blueprint,
      by: audit.actor,
      identifier: source.identifier,
      kind: 'entity',
      runId: audit.runId,
    })
  }

  /** An entity's `team` names `_team` entities (Port's teams); unknown ones are refused. */
  private async ensureTeams(entity: StoredEntity): Promise<void> {
    const teams = entity.team ?? []
    if (teams.length === 0) return
    const known = await this.store.existingEntities(TEAM_BLUEPRINT, teams)
    const unknown = teams.filter((team) => !known.has(team))
    if (unknown.length > 0) {
      throw invalid(`Entity "${entity.identifier}" names teams that do not exist`, [
        {
          message: `names ${unknown.map((team) => `"${team}"`).join(', ')}, which ${unknown.length === 1 ? 'is not a team' : 'are not teams'} (teams are ${TEAM_BLUEPRINT} entities)`,
          pointer: '/team',
        },
      ])
    }
  }

  private async ensureTargets(blueprint: Blueprint, entity: StoredEntity, options: WriteOptions): Promise<void> {
    for (const [name, value] of Object.entries(entity.relations)) {
      const target = blueprint.relations?.[name]?.target
      if (!target) continue
      const wanted = relationTargets(value).filter(
        (id) => !(target === blueprint.identifier && id === entity.identifier),
      )
      const existing = await this.store.existingEntities(target, wanted)
      const missing = wanted.filter((id) => !existing.has(id))
      if (missing.length === 0) continue
      if (!options.createMissingRelated) {
        throw new PortalError(
          404,
          'not_found',
          `Relation "${name}" of entity "${entity.identifier}" points at ${missing.map((id) => `"${id}"`).join(', ')}, which ${missing.length === 1 ? 'does' : 'do'} not exist in blueprint "${target}"`,
        )
      }
      if (options.validationOnly) continue
      const targetBlueprint = await this.store.getBlueprint(target)
      for (const id of missing) {
        const stub = normalize(targetBlueprint!, {identifier: id}, undefined, options)
        await this.store.putEntity(stub, relationTargetsOf(targetBlueprint!))
      }
    }
  }
}

function mergeInto(existing: StoredEntity, input: EntityInput): EntityInput {
  const merged: EntityInput = {
    identifier: existing.identifier,
    properties: {...existing.properties, ...input.properties},
    relations: {...existing.relations, ...input.relations},
    team: existing.team ?? [],
  }
  for (const key of ['title', 'icon', 'team'] as const) {
    if (key in input) merged[key] = input[key] as never
    else if (existing[key] !== undefined) merged[key] = existing[key] as never
  }
  return merged
}

function withDefaults(blueprint: Blueprint, input: EntityInput): EntityInput {
  const properties = {...input.properties}
  for (const [name, property] of Object.entries(blueprint.schema.properties ?? {})) {
    if (properties[name] === undefined && property.default !== undefined) properties[name] = property.default
  }
  return {...input, properties}
}

/** The stored form: nulls and empty relations dropped, team always an array, audit fields set. */
function normalize(
  blueprint: Blueprint,
  input: EntityInput & {identifier: string},
  existing: StoredEntity | undefined,
  options: Pick<WriteOptions, 'actor' | 'now'>,
): StoredEntity {
  const relations: Record<string, RelationValue> = {}
  for (const [name, value] of Object.entries(input.relations ?? {})) {
    if (value === null || (Array.isArray(value) && value.length === 0)) continue
    relations[name] = Array.isArray(value) ? [...new Set(value)] : value
  }
  const team =
    input.team === undefined || input.team === null ? [] : Array.isArray(input.team) ? input.team : [input.team]
  const now = options.now.toISOString()
  return {
    identifier: input.identifier,
    ...(typeof input.title === 'string' ? {title: input.title} : {}),
    ...(typeof input.icon === 'string' ? {icon: input.icon} : {}),
    blueprint: blueprint.identifier,
    team,
    properties: withoutNulls(input.properties ?? {}),
    relations,
    createdAt: existing?.createdAt ?? now,
    createdBy: existing?.createdBy ?? options.actor,
    updatedAt: now,
    updatedBy: options.actor,
  }
}
