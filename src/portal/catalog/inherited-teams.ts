import type {Blueprint} from '../../model/port.js'
import {relationTargets} from '../../domain/entity-rules.js'
import {relationTargetsOf} from '../../domain/entity-rules.js'
import type {ChangeQueue} from '../writes/unit-of-work.js'
import type {PortalChange} from '../writes/change.js'
import {blueprintEntities} from './paging.js'
import {refKey} from '../../model/port.js'
import {blueprintLookup, type EntityRef, type Store, type StoredEntity} from '../store/store.js'

/** How far an inherited team is followed, and how many entities one step may fan out to. */
const MAX_FAN_OUT = 1000

interface Hop {
  relation: string
  /** The blueprint the hop starts from and the one it reaches. */
  from: string
  to: string
}

/** `ownership: {type: 'Inherited', path: 'a.b'}` (or legacy `teamInheritance`, mapped to it). */
export function inheritedPath(blueprint: Blueprint): string[] | undefined {
  const ownership = blueprint.ownership as {type?: string; path?: string} | undefined
  return ownership?.type === 'Inherited' && ownership.path ? ownership.path.split('.') : undefined
}

/**
 * Port's inherited ownership: an entity of a blueprint with `ownership: Inherited` is owned by the
 * teams of the entities its relation path leads to. The portal keeps that team on the entity, so
 * search (`$team`), permissions (`ownedByTeam`) and answers see it, and brings it up to date in the
 * same write whenever something along the path changes.
 */
export class InheritedTeams {
  constructor(
    private readonly store: Store,
    private readonly changes?: ChangeQueue,
  ) {}

  /** The teams `entity` inherits along its blueprint's path (none when the path leads nowhere). */
  async teamsFor(blueprint: Blueprint, entity: StoredEntity): Promise<string[]> {
    const path = inheritedPath(blueprint)
    if (!path) return entity.team ?? []
    const hops = await pathHops(blueprint, path, async (id) => this.store.getBlueprint(id))
    if (!hops) return []
    let current = [entity]
    for (const hop of hops) {
      const ids = [...new Set(current.flatMap((item) => relationTargets(item.relations[hop.relation] ?? null)))]
      const next: StoredEntity[] = []
      for (const id of ids.slice(0, MAX_FAN_OUT)) {
        const found = await this.store.getEntity(hop.to, id)
        if (found) next.push(found)
      }
      current = next
    }
    return [...new Set(current.flatMap((item) => item.team ?? []))].sort()
  }

  /**
   * After the write's own changes: entities whose inherited team depends on a changed entity get
   * it recomputed, and stored when it differs (their changes are seen in turn, so chains follow).
   */
  async propagate(changes: PortalChange[], now: Date): Promise<void> {
    // Runs' writes (most of the dispatcher's) change no entity: no blueprint need be read for them.
    if (!changes.some((change) => change.kind === 'entity')) return
    const inheriting = await this.store.inheritingBlueprints()
    const lookUp = blueprintLookup(this.store, inheriting)
    const chains: {blueprint: Blueprint; hops: Hop[]}[] = []
    for (const blueprint of inheriting) {
      const path = inheritedPath(blueprint)
      const hops = path && (await pathHops(blueprint, path, lookUp))
      if (hops) chains.push({blueprint, hops})
    }
    if (chains.length === 0) return
    const seen = new Set<string>()
    for (let index = 0; index < changes.length; index++) {
      const change = changes[index]!
      if (change.kind !== 'entity') continue
      for (const {blueprint, hops} of chains) {
        for (let position = 0; position <= hops.length; position++) {
          const at = position === 0 ? blueprint.identifier : hops[position - 1]!.to
          if (at !== change.blueprint) continue
          for (const affected of await this.reaching(hops, position, {blueprint: at, identifier: change.identifier})) {
            if (seen.has(refKey(affected))) continue
            seen.add(refKey(affected))
            await this.refresh(blueprint, affected, {actor: change.by, now})
          }
        }
      }
    }
  }

  /** After a blueprint's ownership changed: each of its entities gets the team it now inherits. */
  async recompute(blueprint: Blueprint, audit: {actor: string; now: Date}): Promise<void> {
    if (!inheritedPath(blueprint)) return
    for await (const page of blueprintEntities(this.store, blueprint.identifier)) {
      for (const entity of page) await this.refresh(blueprint, entity, audit)
    }
  }

  /** Entities of the chain's own blueprint that reach `ref` (at `position` on the path). */
  private async reaching(hops: Hop[], position: number, ref: EntityRef): Promise<EntityRef[]> {
    let current = [ref]
    for (let step = position; step > 0; step--) {
      const hop = hops[step - 1]!
      const next = new Map<string, EntityRef>()
      for (const item of current) {
        for (const dependent of await this.store.dependents(item)) {
          if (dependent.relation === hop.relation && dependent.blueprint === hop.from)
            next.set(dependent.identifier, {blueprint: dependent.blueprint, identifier: dependent.identifier})
        }
      }
      current = [...next.values()]
    }
    return current
  }

  private async refresh(blueprint: Blueprint, ref: EntityRef, audit: {actor: string; now: Date}) {
    const before = await this.store.getEntity(ref.blueprint, ref.identifier)
    if (!before) return
    const team = await this.teamsFor(blueprint, before)
    if (JSON.stringify(team) === JSON.stringify([...(before.team ?? [])].sort())) return
    const after = {...before, team, updatedAt: audit.now.toISOString(), updatedBy: audit.actor}
    await this.store.putEntity(after, relationTargetsOf(blueprint))
    this.changes?.push({
      action: 'UPDATE',
      after,
      before,
      blueprint: ref.blueprint,
      by: audit.actor,
      identifier: ref.identifier,
      kind: 'entity',
    })
  }
}

/** An ownership path as hops between blueprints; undefined when a relation on it does not exist. */
export async function pathHops(
  blueprint: Blueprint,
  path: string[],
  get: (id: string) => Promise<Blueprint | undefined>,
): Promise<Hop[] | undefined> {
  const hops: Hop[] = []
  let from: Blueprint | undefined = blueprint
  for (const relation of path) {
    const target: string | undefined = from?.relations?.[relation]?.target
    if (!from || !target) return undefined
    hops.push({from: from.identifier, relation, to: target})
    from = target === from.identifier ? from : await get(target)
  }
  return hops
}
