import {ApiError} from '../api/errors.js'
import type {PortClient} from '../api/port-client.js'
import {refKey, type Blueprint, type EntityInput} from '../model/port.js'
import {TEAM_BLUEPRINT} from '../model/system-blueprints.js'
import {canonicalBlueprint, teamValue} from '../domain/canonical.js'
import {relationTargets} from '../domain/entity-rules.js'
import {blueprintChanges, type ActionChange, type BlueprintChange, type EntityChange, type Plan} from './diff.js'
import {eachLimited, groupBy, waves} from '../domain/order.js'
import {REGISTRY_BLUEPRINT, REGISTRY_DEFINITION, type Ownership} from './ownership.js'
import type {RemoteState} from './remote.js'

export interface Ref {
  kind: 'blueprint' | 'action' | 'entity'
  blueprint?: string
  identifier: string
}

export interface SyncSummary {
  created: Ref[]
  updated: Ref[]
  unchanged: Ref[]
  deleted: Ref[]
  /** `status` is the portal's HTTP status when it refused the write (403: retrying cannot help). */
  failed: (Ref & {action: string; message: string; status?: number})[]
}

export interface ApplyOptions {
  /** Called as each phase advances: counts of documents done of total. */
  progress?: (phase: Phase, done: number, total: number) => void
  concurrency?: number
}

export type Phase = 'blueprints' | 'actions' | 'entities' | 'prune entities' | 'prune actions' | 'prune blueprints'

const BULK_WRITE = 20
const BULK_DELETE = 100
type AnyChange = BlueprintChange | ActionChange | EntityChange
const ref = (change: AnyChange): Ref =>
  change.kind === 'entity'
    ? {blueprint: change.blueprint, identifier: change.identifier, kind: 'entity'}
    : {identifier: change.identifier, kind: change.kind}
const message = (error: unknown) => (error instanceof Error ? error.message : String(error))
const failure = (error: unknown) =>
  error instanceof ApiError ? {message: error.message, status: error.status} : {message: message(error)}

/** The summary a plan would produce if every write succeeded (what --dry-run reports). */
export function expectedSummary(plan: Plan): SyncSummary {
  const summary: SyncSummary = {created: [], deleted: [], failed: [], unchanged: [], updated: []}
  for (const change of [...plan.blueprints, ...plan.actions, ...plan.entities]) {
    const list = {
      create: summary.created,
      delete: summary.deleted,
      unchanged: summary.unchanged,
      update: summary.updated,
    }[change.action]
    list.push(ref(change))
  }
  return summary
}

/**
 * Applies a plan: blueprints first in relation order (blueprints on a cycle are created without
 * relations, then completed), then actions, then entities in bulk waves so relation targets exist
 * first (entities on a cycle are written with required relations only, then completed), prune last
 * (entities, dependents first, then actions, then blueprints), then the ownership records. Failures are collected, not thrown:
 * a rerun converges.
 */
export async function applyPlan(
  client: PortClient,
  plan: Plan,
  remote: RemoteState,
  ownership: Ownership,
  options: ApplyOptions = {},
): Promise<SyncSummary> {
  const summary: SyncSummary = {created: [], deleted: [], failed: [], unchanged: [], updated: []}
  const concurrency = options.concurrency ?? 4
  const done = (change: AnyChange) =>
    (change.action === 'create'
      ? summary.created
      : change.action === 'update'
        ? summary.updated
        : summary.deleted
    ).push(ref(change))
  const fail = (change: AnyChange, error: unknown) =>
    summary.failed.push({...ref(change), action: change.action, ...failure(error)})
  for (const change of [...plan.blueprints, ...plan.actions, ...plan.entities])
    if (change.action === 'unchanged') summary.unchanged.push(ref(change))

  // Blueprints
  const blueprintWrites = plan.blueprints.filter((change) => change.action === 'create' || change.action === 'update')
  const creating = new Set(
    blueprintWrites.filter((change) => change.action === 'create').map((change) => change.identifier),
  )
  const ordered = waves(
    blueprintWrites,
    (change) => change.identifier,
    (change) => blueprintTargets(change.desired!).filter((t) => creating.has(t)),
  )
  let progress = 0
  const step = (phase: Phase, total: number) => options.progress?.(phase, ++progress, total)
  const writeBlueprint = async (change: BlueprintChange, body: Blueprint, create: boolean) => {
    if (create) await client.blueprints.create(body)
    else await client.blueprints.replace(change.identifier, body)
  }
  const failedBlueprints = new Set<string>()
  for (const change of ordered.waves.flat()) {
    try {
      await writeBlueprint(change, change.desired!, change.action === 'create')
      done(change)
    } catch (error) {
      failedBlueprints.add(change.identifier)
      fail(change, error)
    }
    step('blueprints', blueprintWrites.length)
  }
  for (const change of ordered.cyclic.filter((c) => c.action === 'create')) {
    try {
      await writeBlueprint(change, withoutRelations(change.desired!), true)
    } catch (error) {
      failedBlueprints.add(change.identifier)
      fail(change, error)
    }
  }
  for (const change of ordered.cyclic.filter((c) => !failedBlueprints.has(c.identifier))) {
    try {
      await writeBlueprint(change, change.desired!, false)
      done(change)
    } catch (error) {
      fail(change, error)
    }
    step('blueprints', blueprintWrites.length)
  }

  // Actions: after the blueprints they name, before the entities.
  progress = 0
  const actionWrites = plan.actions.filter((change) => change.action === 'create' || change.action === 'update')
  for (const change of actionWrites) {
    try {
      if (change.action === 'create') await client.actions.create(change.desired!)
      else await client.actions.replace(change.identifier, change.desired!)
      done(change)
    } catch (error) {
      fail(change, error)
    }
    step('actions', actionWrites.length)
  }

  // Entities
  const definitions = new Map(remote.blueprints)
  for (const change of plan.blueprints) if (change.desired) definitions.set(change.identifier, change.desired)
  const entityWrites = plan.entities.filter((change) => change.action === 'create' || change.action === 'update')
  const created = new Set(entityWrites.filter((c) => c.action === 'create').map((c) => refKey(c)))
  // Relation targets and owning teams (`_team` entities) being created go first.
  const dependencies = (change: EntityChange) =>
    [
      ...Object.entries(definitions.get(change.blueprint)?.relations ?? {}).flatMap(([name, relation]) =>
        relationTargets(change.desired!.relations?.[name] ?? null).map((id) =>
          refKey({blueprint: relation.target, identifier: id}),
        ),
      ),
      ...teamValue(change.desired!.team).map((team) => refKey({blueprint: TEAM_BLUEPRINT, identifier: team})),
    ].filter((key) => created.has(key))
  const entityOrder = waves(entityWrites, (c) => refKey(c), dependencies)
  progress = 0
  const upsert = async (
    changes: EntityChange[],
    body: (change: EntityChange) => EntityInput,
    createMissing = false,
  ) => {
    const batches: EntityChange[][] = []
    const byBlueprint = groupBy(changes, (change) => change.blueprint)
    for (const group of byBlueprint.values()) {
      for (let start = 0; start < group.length; start += BULK_WRITE)
        batches.push(group.slice(start, start + BULK_WRITE))
    }
    const failed = new Set<EntityChange>()
    await eachLimited(batches, concurrency, async (batch) => {
      try {
        const result = await client.entities.bulkUpsert(batch[0]!.blueprint, batch.map(body), {
          createMissingRelatedEntities: createMissing,
          merge: true,
          upsert: true,
        })
        for (const error of result.errors) {
          const change = batch[error.index]
          if (change) {
            failed.add(change)
            summary.failed.push({
              ...ref(change),
              action: change.action,
              message: error.message,
              status: error.statusCode,
            })
          }
        }
      } catch (error) {
        for (const change of batch) {
          failed.add(change)
          fail(change, error)
        }
      }
      for (const _ of batch) step('entities', entityWrites.length + entityOrder.cyclic.length)
    })
    return failed
  }
  for (const wave of entityOrder.waves) {
    const failed = await upsert(wave, (change) => change.desired!)
    for (const change of wave) if (!failed.has(change)) done(change)
  }
  if (entityOrder.cyclic.length > 0) {
    const requiredOnly = (change: EntityChange): EntityInput => {
      const relations = definitions.get(change.blueprint)?.relations ?? {}
      const kept = Object.entries(change.desired!.relations ?? {}).filter(([name]) => relations[name]?.required)
      return {...change.desired!, relations: Object.fromEntries(kept)}
    }
    const first = await upsert(entityOrder.cyclic, requiredOnly, true)
    const second = await upsert(
      entityOrder.cyclic.filter((change) => !first.has(change)),
      (change) => ({identifier: change.identifier, relations: change.desired!.relations ?? {}}),
    )
    for (const change of entityOrder.cyclic) if (!first.has(change) && !second.has(change)) done(change)
  }

  // Prune: entities (dependents first), then blueprints.
  const entityDeletes = plan.entities.filter((change) => change.action === 'delete')
  const deleting = new Map(entityDeletes.map((change) => [refKey(change), change]))
  const pointedAtBy = new Map<string, string[]>()
  for (const change of entityDeletes) {
    const entity = remote.entities.get(change.blueprint)?.get(change.identifier)
    for (const [name, relation] of Object.entries(definitions.get(change.blueprint)?.relations ?? {})) {
      for (const id of relationTargets(entity?.relations?.[name] ?? null)) {
        const target = refKey({blueprint: relation.target, identifier: id})
        if (!deleting.has(target)) continue
        if (!pointedAtBy.has(target)) pointedAtBy.set(target, [])
        pointedAtBy.get(target)!.push(refKey(change))
      }
    }
  }
  const deleteOrder = waves(
    entityDeletes,
    (c) => refKey(c),
    (c) => pointedAtBy.get(refKey(c)) ?? [],
  )
  progress = 0
  for (const wave of [...deleteOrder.waves, deleteOrder.cyclic]) {
    const batches: EntityChange[][] = []
    for (const group of groupBy(wave, (change) => change.blueprint).values()) {
      for (let start = 0; start < group.length; start += BULK_DELETE)
        batches.push(group.slice(start, start + BULK_DELETE))
    }
    await eachLimited(batches, concurrency, async (batch) => {
      const blueprint = batch[0]!.blueprint
      try {
        await client.entities.bulkDelete(
          blueprint,
          batch.map((change) => change.identifier),
          {deleteDependents: wave === deleteOrder.cyclic},
        )
        for (const change of batch) done(change)
      } catch {
        // All or nothing on the portal: find out which one is blocked.
        for (const change of batch) {
          try {
            await client.entities.delete(blueprint, change.identifier)
            done(change)
          } catch (error) {
            fail(change, error)
          }
        }
      }
      for (const _ of batch) step('prune entities', entityDeletes.length)
    })
  }

  progress = 0
  const actionDeletes = plan.actions.filter((change) => change.action === 'delete')
  for (const change of actionDeletes) {
    try {
      await client.actions.delete(change.identifier)
      done(change)
    } catch (error) {
      fail(change, error)
    }
    step('prune actions', actionDeletes.length)
  }

  const blueprintDeletes = plan.blueprints.filter((change) => change.action === 'delete')
  const deletingBlueprints = new Set(blueprintDeletes.map((change) => change.identifier))
  const blueprintDeleteOrder = waves(
    blueprintDeletes,
    (change) => change.identifier,
    (change) =>
      blueprintDeletes
        .filter((other) => blueprintTargets(remote.blueprints.get(other.identifier)!).includes(change.identifier))
        .map((other) => other.identifier),
  )
  progress = 0
  // Blueprints on a relation cycle point at each other: drop their relations first (PUT replaces).
  for (const change of blueprintDeleteOrder.cyclic) {
    try {
      await client.blueprints.replace(
        change.identifier,
        withoutRelations(canonicalBlueprint(remote.blueprints.get(change.identifier)!)),
      )
    } catch {
      // The delete below reports why.
    }
  }
  for (const change of [...blueprintDeleteOrder.waves.flat(), ...blueprintDeleteOrder.cyclic]) {
    try {
      await client.blueprints.delete(change.identifier)
      done(change)
    } catch (error) {
      fail(change, error)
    }
    step('prune blueprints', deletingBlueprints.size)
  }

  // Ownership: what this source owned before, plus every document in the folder, less what it deleted.
  if (plan.source) {
    const owned = ownership.ownedBy(plan.source.key)
    // Documents that existed before and no source owned become this source's only with --adopt.
    const leave = new Set(plan.unowned.filter((item) => !item.adopt).map((item) => item.change))
    const blueprints = new Set(owned.blueprints)
    for (const change of plan.blueprints) if (!leave.has(change)) blueprints.add(change.identifier)
    const actions = new Set(owned.actions)
    for (const change of plan.actions) if (!leave.has(change)) actions.add(change.identifier)
    const entities = new Map(owned.entities)
    for (const change of plan.entities) {
      if (leave.has(change)) continue
      if (!entities.has(change.blueprint)) entities.set(change.blueprint, [])
      entities.get(change.blueprint)!.push(change.identifier)
    }
    for (const gone of summary.deleted) {
      if (gone.kind === 'blueprint') blueprints.delete(gone.identifier)
      else if (gone.kind === 'action') actions.delete(gone.identifier)
      else
        entities.set(
          gone.blueprint!,
          (entities.get(gone.blueprint!) ?? []).filter((id) => id !== gone.identifier),
        )
    }
    try {
      const registry = remote.blueprints.get(REGISTRY_BLUEPRINT)
      if (!registry) await client.blueprints.create(REGISTRY_DEFINITION)
      else if (blueprintChanges(canonicalBlueprint(REGISTRY_DEFINITION), canonicalBlueprint(registry)).length > 0) {
        await client.blueprints.replace(REGISTRY_BLUEPRINT, REGISTRY_DEFINITION)
      }
      await ownership.write(client, plan.source, {actions: [...actions], blueprints: [...blueprints], entities})
    } catch (error) {
      summary.failed.push({
        action: 'record',
        identifier: REGISTRY_BLUEPRINT,
        kind: 'blueprint',
        ...failure(error),
      })
    }
  }
  return summary
}

/** Blueprints this one's relations and aggregations point at. */
function blueprintTargets(blueprint: Blueprint): string[] {
  const relations = Object.values(blueprint.relations ?? {}).map((relation) => relation.target)
  const aggregations = Object.values((blueprint.aggregationProperties ?? {}) as Record<string, {target?: string}>)
    .map((aggregation) => aggregation.target)
    .filter((target): target is string => typeof target === 'string')
  return [...relations, ...aggregations].filter((target) => target !== blueprint.identifier)
}

/** First pass for a blueprint on a relation cycle: everything that needs the other blueprints removed. */
function withoutRelations(blueprint: Blueprint): Blueprint {
  const ownership =
    (blueprint.ownership as {type?: string} | undefined)?.type === 'Inherited' ? undefined : blueprint.ownership
  const {ownership: _ownership, ...rest} = blueprint
  return {
    ...rest,
    ...(ownership ? {ownership} : {}),
    aggregationProperties: {},
    calculationProperties: {},
    mirrorProperties: {},
    relations: {},
  }
}
