import type {Blueprint} from '../../model/port.js'
import {canonicalBlueprint, same} from '../../domain/canonical.js'
import {checkBlueprintRules} from '../../domain/entity-rules.js'
import {pointer, schemas, type SchemaIssue} from '../../schemas/registry.js'
import {conflict, invalid, notFound, PortalError} from '../http/errors.js'
import {relationTargetsOf} from '../../domain/entity-rules.js'
import {blueprintLookup, type Store} from '../store/store.js'
import {isSystemBlueprint} from '../../model/system-blueprints.js'
import {systemBlueprintIssues} from '../auth/teams.js'
import {inheritedPath, pathHops, type InheritedTeams} from './inherited-teams.js'
import {auditDefinition} from '../writes/unit-of-work.js'
import {blueprintEntities} from './paging.js'

const record = (
  action: 'CREATE' | 'UPDATE' | 'DELETE',
  before: Blueprint | null,
  after: Blueprint | null,
  audit: Audit,
) =>
  auditDefinition({
    action,
    after,
    before,
    by: audit.actor,
    identifier: (after ?? before)!.identifier,
    resourceType: 'blueprint',
  })

const MAPS = ['relations', 'mirrorProperties', 'calculationProperties', 'aggregationProperties'] as const

/** A PATCH: any of a blueprint's fields; `schema.properties` and the maps above merge into the blueprint's. */
export type BlueprintPatch = Partial<Blueprint>

/** Blueprint writes with Port's rules; callers wrap them in a transaction. */
export class Blueprints {
  constructor(
    private readonly store: Store,
    private readonly inherited?: InheritedTeams,
  ) {}

  async get(identifier: string): Promise<Blueprint> {
    const blueprint = await this.store.getBlueprint(identifier)
    if (!blueprint) throw notFound(`Blueprint "${identifier}" was not found`)
    return blueprint
  }

  async create(input: Blueprint, audit: Audit): Promise<Blueprint> {
    const candidate = await this.check(input)
    if (await this.store.getBlueprint(candidate.identifier)) {
      throw conflict(`A blueprint with identifier "${candidate.identifier}" already exists`)
    }
    const blueprint = normalize(candidate, undefined, audit)
    await this.store.putBlueprint(blueprint)
    record('CREATE', null, blueprint, audit)
    return blueprint
  }

  async replace(identifier: string, input: Blueprint, audit: Audit): Promise<Blueprint> {
    const existing = await this.get(identifier)
    const candidate = await this.check(input, existing)
    return this.save(existing, normalize(candidate, existing, audit), audit)
  }

  async patch(identifier: string, input: BlueprintPatch, audit: Audit): Promise<Blueprint> {
    const existing = await this.get(identifier)
    const merged: Record<string, unknown> = {...existing, ...input, identifier}
    if (input.schema) {
      merged.schema = {
        properties: {...existing.schema.properties, ...input.schema.properties},
        required: input.schema.required ?? existing.schema.required ?? [],
      }
    }
    for (const map of MAPS) {
      if (input[map]) merged[map] = {...existing[map], ...input[map]}
    }
    const candidate = await this.check(merged, existing)
    return this.save(existing, normalize(candidate, existing, audit), audit)
  }

  async delete(identifier: string, audit: Audit): Promise<void> {
    const existing = await this.get(identifier)
    if (isSystemBlueprint(identifier))
      throw new PortalError(
        422,
        'system_blueprint',
        `"${identifier}" is a system blueprint (Port's users and teams) and cannot be deleted`,
      )
    const count = await this.store.countEntities(identifier)
    if (count > 0) {
      throw conflict(`Blueprint "${identifier}" still has ${count} entities; delete them first`)
    }
    const referrers = (await this.store.listBlueprints()).filter(
      (other) =>
        other.identifier !== identifier && Object.values(other.relations ?? {}).some((r) => r.target === identifier),
    )
    if (referrers.length > 0) {
      const names = referrers.map((other) => `"${other.identifier}"`).join(', ')
      throw conflict(`Blueprint "${identifier}" is the target of relations in ${names}; remove those relations first`)
    }
    await this.store.deleteBlueprint(identifier)
    record('DELETE', existing, null, audit)
  }

  /** Schema (a PATCH's merged blueprint too), Port's extra rules, relation targets and (on update) property types. */
  private async check(input: unknown, existing?: Blueprint): Promise<Blueprint> {
    const shape = schemas().validate('idp:blueprint', input)
    if (!shape.ok) throw invalid('Invalid blueprint', shape.issues)
    const blueprint = input as Blueprint
    const issues: SchemaIssue[] = [...checkBlueprintRules(blueprint), ...systemBlueprintIssues(blueprint)]
    const path = inheritedPath(canonicalBlueprint(blueprint))
    if (path) {
      if (!(await pathHops(blueprint, path, blueprintLookup(this.store, [blueprint]))))
        issues.push({
          message: `"${path.join('.')}" is not a path of relations from blueprint "${blueprint.identifier}"`,
          pointer: blueprint.ownership ? '/ownership/path' : '/teamInheritance/path',
        })
    }
    for (const [name, relation] of Object.entries(blueprint.relations ?? {})) {
      if (relation.target === blueprint.identifier || (await this.store.getBlueprint(relation.target))) continue
      issues.push({
        message: `targets blueprint "${relation.target}", which does not exist`,
        pointer: pointer('relations', name, 'target'),
      })
    }
    for (const [name, property] of Object.entries(existing?.schema.properties ?? {})) {
      const next = blueprint.schema.properties[name]
      if (next && next.type !== property.type) {
        issues.push({
          message: `cannot change type from "${property.type}" to "${next.type}"; add a new property instead`,
          pointer: pointer('schema', 'properties', name, 'type'),
        })
      }
    }
    if (issues.length > 0) throw invalid(`Invalid blueprint "${blueprint.identifier}"`, issues)
    return blueprint
  }

  /** Stores the new version; values of removed properties and relations go with them. */
  private async save(existing: Blueprint, blueprint: Blueprint, audit: Audit): Promise<Blueprint> {
    if (existing.identifier !== blueprint.identifier) {
      throw invalid('Invalid blueprint', [
        {message: `must be "${existing.identifier}" (identifiers cannot change)`, pointer: '/identifier'},
      ])
    }
    await this.store.putBlueprint(blueprint)
    record('UPDATE', existing, blueprint, audit)
    if (!same(existing.ownership, blueprint.ownership)) await this.inherited?.recompute(blueprint, audit)
    const removedProperties = Object.keys(existing.schema.properties).filter(
      (name) => !(name in blueprint.schema.properties),
    )
    const removedRelations = Object.keys(existing.relations ?? {}).filter(
      (name) => !(name in (blueprint.relations ?? {})),
    )
    if (removedProperties.length > 0 || removedRelations.length > 0) {
      for await (const page of blueprintEntities(this.store, blueprint.identifier)) {
        for (const entity of page) {
          for (const name of removedProperties) delete entity.properties[name]
          for (const name of removedRelations) delete entity.relations[name]
          await this.store.putEntity(entity, relationTargetsOf(blueprint))
        }
      }
    }
    return blueprint
  }
}

export interface Audit {
  actor: string
  now: Date
}

/** Port's stored form (see canonicalBlueprint) with audit fields. */
function normalize(input: Blueprint, existing: Blueprint | undefined, audit: Audit): Blueprint {
  const now = audit.now.toISOString()
  return {
    ...canonicalBlueprint(input),
    createdAt: existing?.createdAt ?? now,
    createdBy: existing?.createdBy ?? audit.actor,
    updatedAt: now,
    updatedBy: audit.actor,
  }
}
