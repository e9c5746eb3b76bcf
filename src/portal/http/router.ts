import type {Access, Principal} from '../auth/access.js'
import type {Credential} from '../store/store.js'
import {PortalError} from './errors.js'

export interface RequestContext {
  method: string
  params: Record<string, string>
  query: URLSearchParams
  body: unknown
  /** The credential behind the request (for a run token, the one that minted it, with member rights). */
  caller: Credential
  principal: Principal
  now: Date
}

export interface Reply {
  status: number
  body: Record<string, unknown>
}

export type Handler = (request: RequestContext) => Promise<Reply>

export interface Route {
  method: string
  pattern: string
  handler: Handler
  /** Who may call it (see auth/access.ts); required, so that no route is open by omission. */
  auth: Access
  /** Not counted by `--rate-limit` (health probes: they are not Port's API, and must not touch the database). */
  unlimited?: true
}

interface CompiledRoute extends Route {
  regex: RegExp
  names: string[]
}

/**
 * Method + path table with `:param` segments. Matching does not depend on the order routes were
 * added: where two patterns fit a path, the one with a literal segment where the other has a
 * parameter (reading from the left) wins, so `/v1/actions/runs` beats `/v1/actions/:id`.
 */
export class Router {
  private readonly routes: CompiledRoute[] = []

  add(...routes: Route[]): this {
    for (const route of routes) {
      const names: string[] = []
      const source = route.pattern.replaceAll(/:(\w+)/g, (_match, name: string) => {
        names.push(name)
        return '([^/]+)'
      })
      this.routes.push({...route, names, regex: new RegExp(`^${source}/?$`)})
    }
    this.routes.sort((a, b) => specificity(a.pattern, b.pattern))
    return this
  }

  match(method: string, path: string): {route: Route; params: Record<string, string>} | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue
      const found = route.regex.exec(path)
      if (!found) continue
      const params: Record<string, string> = {}
      for (const [index, name] of route.names.entries()) params[name] = decodePart(found[index + 1]!)
      return {params, route}
    }
    return undefined
  }
}

/**
 * Orders patterns so that, reading from the left, a literal segment comes before a parameter at
 * the first place they differ: a total order (string comparison of a key), so sorting is stable.
 */
function specificity(a: string, b: string): number {
  const key = (pattern: string) =>
    pattern
      .split('/')
      .map((segment) => (segment.startsWith(':') ? '1' : '0'))
      .join('')
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    throw new PortalError(
      400,
      'invalid_request',
      `The path segment "${part.slice(0, 100)}" is not valid percent-encoding`,
    )
  }
}
