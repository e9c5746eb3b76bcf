import {type EntitiesQuery} from '../../model/port.js'
import {PortalError, type Route} from '../http.js'
import {compileQuery, project, toWire} from '../search.js'
import {type StoredEntity} from '../store/store.js'
import {body, MAX_UNPAGED, ok, type RouteKit, tooMany} from './kit.js'

/** Entity search, per blueprint (paged) and across blueprints. */
export function searchRoutes(kit: RouteKit): Route[] {
  const {blueprints, scans, store, view} = kit
  return [
    {
      auth: 'member',
      handler: async (request) => {
        const search = body<{
          query?: EntitiesQuery
          limit?: number
          from?: string
          include?: string[]
          exclude?: string[]
        }>(request, 'idp:api-requests#/$defs/blueprintSearch', 'Invalid search request')
        const {identifier} = await blueprints.get(request.params.bp!)
        const match = await compileQuery(search.query ?? {combinator: 'and', rules: []}, store, request.now)
        const limit = search.limit ?? 200
        const found: {seq: number; entity: StoredEntity}[] = []
        const after = search.from ? decodeCursor(search.from) : 0
        for await (const page of scans.pages({after, blueprint: identifier})) {
          for (const row of page) if (found.length <= limit && match(row.entity)) found.push(row)
          if (found.length > limit) break
        }
        const shown = found.slice(0, limit)
        const shape = (entity: StoredEntity) => project(toWire(entity), search.include ?? [], search.exclude ?? [])
        const next = found.length > limit ? {next: encodeCursor(shown.at(-1)!.seq)} : {}
        return ok({entities: shown.map((row) => shape(row.entity)), ...next})
      },
      method: 'POST',
      pattern: '/v1/blueprints/:bp/entities/search',
    },
    {
      auth: 'member',
      handler: async (request) => {
        const query = body<EntitiesQuery>(request, 'idp:entities-query', 'Invalid search query')
        const match = await compileQuery(query, store, request.now)
        const shown = view(request)
        const matched: unknown[] = []
        const blueprintsMatched = new Set<string>()
        for await (const page of scans.pages({})) {
          for (const {entity} of page) {
            if (!match(entity)) continue
            matched.push(shown(entity))
            if (matched.length > MAX_UNPAGED) throw tooMany('The query matches')
            blueprintsMatched.add(entity.blueprint)
          }
        }
        return ok({entities: matched, matchingBlueprints: [...blueprintsMatched]})
      },
      method: 'POST',
      pattern: '/v1/entities/search',
    },
  ]
}

/** Search cursors are opaque to clients (Port's `next`); here, the last row's sequence number. */
const encodeCursor = (seq: number) => Buffer.from(`seq:${seq}`).toString('base64url')

function decodeCursor(cursor: string): number {
  const match = /^seq:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString())
  if (!match) throw new PortalError(422, 'invalid_request', 'The "from" cursor is not one this portal returned')
  return Number(match[1])
}
