import type {PortClient} from '../api/port-client.js'
import {OWNERSHIP_BLUEPRINT, type Blueprint, type Entity, type EntityInput} from '../model/port.js'
import {same} from '../domain/canonical.js'
import type {CatalogSource} from './source.js'

/**
 * Which catalog source owns which blueprints and entities is recorded on the portal itself, in
 * entities of this blueprint, so prune needs no local state file and works from any checkout.
 * Records `<sourceKey>.blueprints.<n>`, `<sourceKey>.actions.<n>` and
 * `<sourceKey>.entities.<blueprint>.<n>` hold up to CHUNK identifiers each.
 */
export const REGISTRY_BLUEPRINT = OWNERSHIP_BLUEPRINT
const CHUNK = 2000

export const REGISTRY_DEFINITION: Blueprint = {
  description: 'Ownership records written by `idp catalog sync`: which catalog source manages what. Do not edit.',
  identifier: REGISTRY_BLUEPRINT,
  schema: {
    properties: {
      blueprint: {title: 'Blueprint', type: 'string'},
      identifiers: {items: {type: 'string'}, title: 'Identifiers', type: 'array'},
      kind: {enum: ['blueprint', 'action', 'entity'], title: 'Kind', type: 'string'},
      source: {title: 'Source', type: 'string'},
      sourceKey: {title: 'Source key', type: 'string'},
    },
    required: ['source', 'sourceKey', 'kind', 'identifiers'],
  },
  title: 'idp catalog source',
}

export type Kind = 'blueprint' | 'action' | 'entity'

/** What one catalog source owns. */
export interface Owned {
  blueprints: string[]
  actions: string[]
  entities: Map<string, string[]>
}

/** Owner of each blueprint and entity: `blueprint:<id>` or `entity:<bp>\0<id>` → source. */
export class Ownership {
  constructor(
    readonly owners: Map<string, {key: string; name: string}>,
    private readonly records: Entity[],
  ) {}

  /** `blueprint:<id>`, `action:<id>` or `entity:<blueprint>\0<id>`. */
  static key(kind: Kind, name: string, identifier?: string): string {
    return kind === 'entity' ? `entity:${name}\u0000${identifier}` : `${kind}:${name}`
  }

  static async read(client: PortClient, registryExists: boolean): Promise<Ownership> {
    const owners = new Map<string, {key: string; name: string}>()
    const records: Entity[] = []
    if (!registryExists) return new Ownership(owners, records)
    for await (const record of client.entities.search(REGISTRY_BLUEPRINT)) {
      records.push(record)
      const {blueprint, identifiers, kind, source, sourceKey} = record.properties as Record<string, unknown>
      if (!Array.isArray(identifiers) || typeof sourceKey !== 'string') continue
      for (const id of identifiers as string[]) {
        const key = kind === 'entity' ? Ownership.key('entity', String(blueprint), id) : Ownership.key(kind as Kind, id)
        owners.set(key, {key: sourceKey, name: String(source)})
      }
    }
    return new Ownership(owners, records)
  }

  private readonly owned = new Map<string, Owned>()

  /** What this source owns (computed once per source; callers get their own copy). */
  ownedBy(sourceKey: string): Owned {
    let owned = this.owned.get(sourceKey)
    if (!owned) {
      owned = {actions: [], blueprints: [], entities: new Map()}
      for (const [key, owner] of this.owners) {
        if (owner.key !== sourceKey) continue
        const [kind, rest] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)]
        if (kind === 'blueprint') owned.blueprints.push(rest)
        else if (kind === 'action') owned.actions.push(rest)
        else {
          const [blueprint, identifier] = rest.split('\u0000') as [string, string]
          if (!owned.entities.has(blueprint)) owned.entities.set(blueprint, [])
          owned.entities.get(blueprint)!.push(identifier)
        }
      }
      this.owned.set(sourceKey, owned)
    }
    return {
      actions: [...owned.actions],
      blueprints: [...owned.blueprints],
      entities: new Map([...owned.entities].map(([bp, ids]) => [bp, [...ids]])),
    }
  }

  /** Replaces this source's records with `owned`, deleting records it no longer needs. */
  async write(client: PortClient, source: CatalogSource, owned: Owned) {
    const wanted: EntityInput[] = []
    const add = (kind: Kind, blueprint: string, identifiers: string[]) => {
      const sorted = [...new Set(identifiers)].sort()
      for (let chunk = 0; chunk * CHUNK < sorted.length; chunk++) {
        wanted.push({
          identifier:
            kind === 'entity' ? `${source.key}.entities.${blueprint}.${chunk}` : `${source.key}.${kind}s.${chunk}`,
          properties: {
            blueprint,
            identifiers: sorted.slice(chunk * CHUNK, (chunk + 1) * CHUNK),
            kind,
            source: source.name,
            sourceKey: source.key,
          },
          title: `${source.name} · ${kind === 'entity' ? blueprint : `${kind}s`}`,
        })
      }
    }
    if (owned.blueprints.length > 0) add('blueprint', '', owned.blueprints)
    if (owned.actions.length > 0) add('action', '', owned.actions)
    for (const [blueprint, identifiers] of owned.entities)
      if (identifiers.length > 0) add('entity', blueprint, identifiers)

    const unchanged = new Set(
      this.records
        .filter((record) =>
          wanted.some((w) => w.identifier === record.identifier && same(w.properties, record.properties)),
        )
        .map((record) => record.identifier),
    )
    const changed = wanted.filter((record) => !unchanged.has(record.identifier!))
    for (let start = 0; start < changed.length; start += 20) {
      const result = await client.entities.bulkUpsert(REGISTRY_BLUEPRINT, changed.slice(start, start + 20), {
        upsert: true,
      })
      if (result.errors.length > 0) throw new Error(`could not record ownership: ${result.errors[0]!.message}`)
    }
    const keep = new Set(wanted.map((record) => record.identifier))
    const stale = this.records
      .filter(
        (record) =>
          (record.properties as {sourceKey?: string}).sourceKey === source.key && !keep.has(record.identifier),
      )
      .map((record) => record.identifier)
    if (stale.length > 0) await client.entities.bulkDelete(REGISTRY_BLUEPRINT, stale)
    return {written: changed.length + stale.length}
  }
}
