import type {PortClient} from '../api/port-client.js'
import type {Blueprint, Entity, EntityInput} from '../api/types.js'
import {same} from './canonical.js'
import type {CatalogSource} from './source.js'

/**
 * Which catalog source owns which blueprints and entities is recorded on the portal itself, in
 * entities of this blueprint, so prune needs no local state file and works from any checkout.
 * Records `<sourceKey>.blueprints.<n>` and `<sourceKey>.entities.<blueprint>.<n>` hold up to CHUNK
 * identifiers each.
 */
export const REGISTRY_BLUEPRINT = 'idp-catalog-source'
const CHUNK = 2000

export const REGISTRY_DEFINITION: Blueprint = {
  description: 'Ownership records written by `idp catalog sync`: which catalog source manages what. Do not edit.',
  identifier: REGISTRY_BLUEPRINT,
  schema: {
    properties: {
      blueprint: {title: 'Blueprint', type: 'string'},
      identifiers: {items: {type: 'string'}, title: 'Identifiers', type: 'array'},
      kind: {enum: ['blueprint', 'entity'], title: 'Kind', type: 'string'},
      source: {title: 'Source', type: 'string'},
      sourceKey: {title: 'Source key', type: 'string'},
    },
    required: ['source', 'sourceKey', 'kind', 'identifiers'],
  },
  title: 'idp catalog source',
}

export type Kind = 'blueprint' | 'entity'

/** Owner of each blueprint and entity: `blueprint:<id>` or `entity:<bp>\0<id>` → source. */
export class Ownership {
  constructor(
    readonly owners: Map<string, {key: string; name: string}>,
    private readonly records: Entity[],
  ) {}

  static key(kind: Kind, blueprint: string, identifier?: string): string {
    return kind === 'blueprint' ? `blueprint:${blueprint}` : `entity:${blueprint}\u0000${identifier}`
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
        const key =
          kind === 'blueprint' ? Ownership.key('blueprint', id) : Ownership.key('entity', String(blueprint), id)
        owners.set(key, {key: sourceKey, name: String(source)})
      }
    }
    return new Ownership(owners, records)
  }

  private readonly owned = new Map<string, {blueprints: string[]; entities: Map<string, string[]>}>()

  /** What this source owns, per kind and blueprint (computed once per source). */
  ownedBy(sourceKey: string): {blueprints: string[]; entities: Map<string, string[]>} {
    const cached = this.owned.get(sourceKey)
    if (cached)
      return {
        blueprints: [...cached.blueprints],
        entities: new Map([...cached.entities].map(([bp, ids]) => [bp, [...ids]])),
      }
    const blueprints: string[] = []
    const entities = new Map<string, string[]>()
    for (const [key, owner] of this.owners) {
      if (owner.key !== sourceKey) continue
      if (key.startsWith('blueprint:')) blueprints.push(key.slice('blueprint:'.length))
      else {
        const [blueprint, identifier] = key.slice('entity:'.length).split('\u0000') as [string, string]
        if (!entities.has(blueprint)) entities.set(blueprint, [])
        entities.get(blueprint)!.push(identifier)
      }
    }
    this.owned.set(sourceKey, {blueprints, entities})
    return this.ownedBy(sourceKey)
  }

  /** Replaces this source's records with `owned`, deleting records it no longer needs. */
  async write(
    client: PortClient,
    source: CatalogSource,
    owned: {blueprints: string[]; entities: Map<string, string[]>},
  ) {
    const wanted: EntityInput[] = []
    const add = (kind: Kind, blueprint: string, identifiers: string[]) => {
      const sorted = [...new Set(identifiers)].sort()
      for (let chunk = 0; chunk * CHUNK < sorted.length; chunk++) {
        wanted.push({
          identifier:
            kind === 'blueprint' ? `${source.key}.blueprints.${chunk}` : `${source.key}.entities.${blueprint}.${chunk}`,
          properties: {
            blueprint,
            identifiers: sorted.slice(chunk * CHUNK, (chunk + 1) * CHUNK),
            kind,
            source: source.name,
            sourceKey: source.key,
          },
          title: `${source.name} · ${kind === 'blueprint' ? 'blueprints' : blueprint}`,
        })
      }
    }
    if (owned.blueprints.length > 0) add('blueprint', '', owned.blueprints)
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
