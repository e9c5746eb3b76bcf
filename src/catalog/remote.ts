import type {PortClient} from '../api/port-client.js'
import type {Action, Blueprint, Entity} from '../model/port.js'

export interface RemoteState {
  blueprints: Map<string, Blueprint>
  actions: Map<string, Action>
  /** Entities of the blueprints that were fetched, by blueprint then identifier. */
  entities: Map<string, Map<string, Entity>>
}

export async function fetchBlueprints(client: PortClient): Promise<Map<string, Blueprint>> {
  return new Map((await client.blueprints.list()).map((blueprint) => [blueprint.identifier, blueprint]))
}

export async function fetchActions(client: PortClient): Promise<Map<string, Action>> {
  return new Map((await client.actions.list()).map((action) => [action.identifier, action]))
}

/**
 * Fetches all entities of each blueprint it is asked for, once, starting at once: callers ask as
 * soon as they know a blueprint is needed, so the portal answers while they read files.
 */
export class EntityFetcher {
  private readonly pending = new Map<string, Promise<Map<string, Entity>>>()

  constructor(
    private readonly client: PortClient,
    private readonly blueprints: Map<string, Blueprint>,
  ) {}

  want(blueprints: Iterable<string>): void {
    for (const blueprint of blueprints) {
      if (this.pending.has(blueprint)) continue
      const fetching = this.fetch(blueprint)
      fetching.catch(() => undefined) // awaited (and reported) in all()
      this.pending.set(blueprint, fetching)
    }
  }

  async all(): Promise<Map<string, Map<string, Entity>>> {
    const entries = await Promise.all(
      [...this.pending].map(async ([blueprint, fetching]) => [blueprint, await fetching] as const),
    )
    return new Map(entries)
  }

  private async fetch(blueprint: string): Promise<Map<string, Entity>> {
    const found = new Map<string, Entity>()
    if (!this.blueprints.has(blueprint)) return found
    // Page by page rather than the per-entity generator: 10,000 fewer promises on a large catalog.
    let from: string | undefined
    do {
      const page = await this.client.entities.searchPage(blueprint, undefined, {from, limit: 1000})
      for (const entity of page.entities) found.set(entity.identifier, entity)
      from = page.next
    } while (from)
    return found
  }
}

/** All entities of the given blueprints. */
export async function fetchEntities(client: PortClient, blueprints: Map<string, Blueprint>, wanted: Iterable<string>) {
  const fetcher = new EntityFetcher(client, blueprints)
  fetcher.want(wanted)
  return fetcher.all()
}
