import {randomUUID} from 'node:crypto'
import type {IncomingMessage, ServerResponse} from 'node:http'

import type {SchemaIssue} from '../schemas/registry.js'
import type {Access, Principal} from './access.js'
import type {Credential} from './store/store.js'

export const MAX_BODY_BYTES = 1024 * 1024

/** A failure answered with Port's envelope: `{ok: false, error, message}`. */
export class PortalError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export const notFound = (message: string) => new PortalError(404, 'not_found', message)
export const conflict = (message: string) => new PortalError(409, 'conflict', message)

/**
 * 422 listing every issue as `<JSON pointer> <problem>` in the message: Port's error envelope
 * has no other field for them (its spec allows only ok, error and message).
 */
export function invalid(what: string, issues: SchemaIssue[], code = 'invalid_request'): PortalError {
  const listed = issues.map((issue) => `${issue.pointer || '/'} ${issue.message}`).join('; ')
  return new PortalError(422, code, `${what}: ${listed}`)
}

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
  /** Who may call it (see access.ts); required, so that no route is open by omission. */
  auth: Access
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

export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const declared = Number(request.headers['content-length'] ?? 0)
  if (declared > MAX_BODY_BYTES) throw tooLarge()
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw tooLarge()
    chunks.push(chunk)
  }
  if (size === 0) return undefined
  const text = Buffer.concat(chunks).toString('utf8')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new PortalError(400, 'invalid_json', `The request body is not valid JSON: ${(error as Error).message}`)
  }
  if (nestingDepth(value) > MAX_BODY_DEPTH) {
    throw new PortalError(
      422,
      'invalid_request',
      `The request body nests deeper than ${MAX_BODY_DEPTH} levels (property values and search rules included)`,
    )
  }
  return value
}

/**
 * How deep request bodies may nest. Every stored value must stay readable, listable, searchable
 * and exportable by code that walks it; a value thousands of levels deep would not be.
 */
export const MAX_BODY_DEPTH = 64

/** Depth of nested arrays and objects, without recursion (the value may be very deep). */
function nestingDepth(value: unknown): number {
  let deepest = 0
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!
    if (item === null || typeof item !== 'object') continue
    if (depth + 1 > deepest) deepest = depth + 1
    if (deepest > MAX_BODY_DEPTH) return deepest
    for (const child of Object.values(item)) stack.push([child, depth + 1])
  }
  return deepest
}

const tooLarge = () => new PortalError(413, 'request_too_large', 'Request body is too large (limit is 1MiB)')

/**
 * An array of JSON texts sent as they are: entities the store holds in their wire form go into an
 * answer without being parsed and serialised again. Each page added becomes one buffer outside
 * the JS heap, so a large answer is never one large string for the garbage collector to move.
 */
export class JsonTexts {
  private readonly pages: Buffer[] = []
  private count = 0

  /** How many texts the array holds. */
  get length(): number {
    return this.count
  }

  add(texts: string[]): void {
    if (texts.length === 0) return
    this.pages.push(Buffer.from(`${this.count === 0 ? '' : ','}${texts.join(',')}`))
    this.count += texts.length
  }

  get parts(): Buffer[] {
    return [OPEN, ...this.pages, CLOSE]
  }
}

const OPEN = Buffer.from('[')
const CLOSE = Buffer.from(']')

/** Stands in for a JsonTexts while the rest of the body is serialised; random, so no value can forge it. */
const PLACEHOLDER = `idp-json-texts-${randomUUID()}`

/** The body as buffers: its JSON, with each JsonTexts' pages in place. */
function serialise(body: unknown): Buffer[] {
  const texts: JsonTexts[] = []
  const text = JSON.stringify(body, (_key, value: unknown) => {
    if (!(value instanceof JsonTexts)) return value
    texts.push(value)
    return PLACEHOLDER
  })
  if (texts.length === 0) return [Buffer.from(text)]
  const [first, ...rest] = text.split(`"${PLACEHOLDER}"`)
  return [Buffer.from(first!), ...rest.flatMap((after, index) => [...texts[index]!.parts, Buffer.from(after)])]
}

/** A reply's body as plain JSON values (JsonTexts parsed), for callers inside the portal (the web view). */
export function plainBody(body: unknown): Record<string, unknown> {
  return JSON.parse(Buffer.concat(serialise(body)).toString('utf8')) as Record<string, unknown>
}

export function send(response: ServerResponse, status: number, body: unknown): void {
  const parts = serialise(body)
  response.writeHead(status, {
    'content-length': parts.reduce((total, part) => total + part.length, 0),
    'content-type': 'application/json; charset=utf-8',
  })
  // Corked, the parts leave in one write; end() uncorks.
  response.cork()
  for (const part of parts) response.write(part)
  response.end()
}

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
