import {JsonTexts} from '../http/reply.js'
import {PortalError} from '../http/errors.js'
import type {Route} from '../http/router.js'
import {compileSearch} from '../catalog/search.js'
import {entityText} from '../catalog/paging.js'
import {body, MAX_UNPAGED, ok, type RouteKit, tooMany} from './kit.js'

/** Entity search, per blueprint (paged) and across blueprints; both evaluated by the store. */
export function searchRoutes(kit: RouteKit): Route[] {
  const {blueprints, scans, store, textView} = kit
  return [
    {
      auth: 'member',
      handler: async (request) => {
        const search = body(request, 'idp:api-requests#/$defs/blueprintSearch', 'Invalid search request')
        const {identifier} = await blueprints.get(request.params.bp!)
        const compiled = await compileSearch(search.query ?? {combinator: 'and', rules: []}, store, request.now)
        const limit = search.limit ?? 200
        const shown = entityText(search.include ?? [], search.exclude ?? [])
        const answer = new JsonTexts()
        let last = 0
        let more = false
        const after = search.from ? decodeCursor(search.from) : 0
        for await (const page of scans.pages({after, blueprint: identifier, search: compiled})) {
          const taken = page.slice(0, limit - answer.length)
          answer.add(taken.map(shown))
          last = taken.at(-1)?.seq ?? last
          if (taken.length < page.length) {
            more = true
            break
          }
        }
        return ok({entities: answer, ...(more ? {next: encodeCursor(last)} : {})})
      },
      method: 'POST',
      pattern: '/v1/blueprints/:bp/entities/search',
    },
    {
      auth: 'member',
      handler: async (request) => {
        const query = body(request, 'idp:entities-query', 'Invalid search query')
        const compiled = await compileSearch(query, store, request.now)
        const shown = textView(request)
        const answer = new JsonTexts()
        const blueprintsMatched = new Set<string>()
        for await (const page of scans.pages({search: compiled})) {
          answer.add(page.map(shown))
          for (const found of page) blueprintsMatched.add(found.blueprint)
          if (answer.length > MAX_UNPAGED) throw tooMany('The query matches')
        }
        return ok({entities: answer, matchingBlueprints: [...blueprintsMatched]})
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
