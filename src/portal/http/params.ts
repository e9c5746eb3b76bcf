import {PortalError} from './errors.js'

/** Port's boolean query parameters: `true`/`false`, absent means the default. */
export function booleanParam(query: URLSearchParams, name: string, fallback = false): boolean {
  const value = query.get(name)
  if (value === null || value === '') return fallback
  if (value === 'true') return true
  if (value === 'false') return false
  throw new PortalError(422, 'invalid_request', `Query parameter "${name}" must be true or false, got "${value}"`)
}

/** `?include=a&include=b`, `?include[]=a` and `?include=a,b` all name the same list. */
export function listParam(query: URLSearchParams, name: string): string[] {
  return [...query.getAll(name), ...query.getAll(`${name}[]`)].flatMap((value) => value.split(',')).filter(Boolean)
}
