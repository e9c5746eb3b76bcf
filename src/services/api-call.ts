import {readFileSync} from 'node:fs'

import type {PortClient} from '../api/port-client.js'
import type {HttpRequest, QueryValue} from '../api/http.js'
import {lineColumn} from '../catalog/locate.js'
import {usageError, validationError} from '../errors.js'

export interface ApiCallFlags {
  method?: string | undefined
  input?: string | undefined
  /** `-f key=value`: string values. */
  rawField?: string[] | undefined
  /** `-F key=value`: true, false, null and numbers as JSON; `@file` reads a file (`@-` stdin). */
  field?: string[] | undefined
  header?: string[] | undefined
  paginate?: boolean | undefined
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const

/**
 * A path as Port's routes have it, from what people type: `blueprints`, `/blueprints`,
 * `v1/blueprints`, `/v1/blueprints?limit=5`, or a full URL on the portal's own origin.
 */
export function apiPath(typed: string, apiUrl: string): {path: string; query: Record<string, string[]>} {
  let rest = typed.trim()
  if (/^https?:\/\//i.test(rest)) {
    if (!rest.startsWith(apiUrl))
      throw usageError(`${typed} is not on ${apiUrl}.`, 'idp api sends the profile’s token only to its own portal.')
    rest = rest.slice(apiUrl.length)
  }
  const [pathname = '', search = ''] = rest.split(/\?(.*)/s)
  const path = '/v1/' + pathname.replace(/^\/+/, '').replace(/^v1(\/|$)/, '')
  const query: Record<string, string[]> = {}
  for (const [key, value] of new URLSearchParams(search)) (query[key] ??= []).push(value)
  return {path: path.replace(/\/$/, '') || '/v1', query}
}

function splitField(flag: string, text: string): [string, string] {
  const at = text.indexOf('=')
  if (at <= 0) throw usageError(`${flag} "${text}" is not key=value.`, `Example: ${flag} limit=5`)
  return [text.slice(0, at), text.slice(at + 1)]
}

/** gh's typed `-F` value: literals true, false, null and numbers; `@file` reads the file's text. */
function typedField(raw: string): unknown {
  if (raw === 'true' || raw === 'false') return raw === 'true'
  if (raw === 'null') return null
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw)
  if (!raw.startsWith('@')) return raw
  try {
    return readFileSync(raw === '@-' ? 0 : raw.slice(1), 'utf8')
  } catch (error) {
    throw usageError(`-F ${raw}: ${(error as Error).message}`)
  }
}

/** `key=v`, `key[]=v` (appends to an array) and `key[sub]=v` (nests), as gh builds its body. */
function setField(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key)
  if (!parts) throw usageError(`Field name "${key}" is not key, key[] or key[sub].`)
  const path = [parts[1]!, ...[...parts[2]!.matchAll(/\[([^[\]]*)\]/g)].map((match) => match[1]!)]
  let node: Record<string, unknown> | unknown[] = target
  for (let index = 0; index < path.length; index++) {
    const name = path[index]!
    const last = index === path.length - 1
    const next = path[index + 1]
    if (Array.isArray(node)) {
      if (last) node.push(value)
      else node.push((node = next === '' ? [] : {}))
      continue
    }
    if (last) {
      node[name] = value
    } else {
      node[name] ??= next === '' ? [] : {}
      node = node[name] as Record<string, unknown> | unknown[]
    }
  }
}

function readInput(file: string): unknown {
  let text: string
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8')
  } catch (error) {
    throw usageError(`--input ${file}: ${(error as Error).message}`)
  }
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text)
  } catch (error) {
    const message = (error as Error).message
    const position = /at position (\d+)/.exec(message)
    const where = position ? lineColumn(text, Number(position[1])) : undefined
    throw validationError(
      `--input ${file === '-' ? 'stdin' : file}${where ? `:${where.line}:${where.column}` : ''}: not valid JSON (${message.replace(/ in JSON at position \d+.*$/, '')}).`,
    )
  }
}

/** The request `idp api` sends: fields go in the query of a GET and in the JSON body otherwise. */
export async function apiRequest(typed: string, flags: ApiCallFlags, apiUrl: string): Promise<HttpRequest> {
  const {path, query} = apiPath(typed, apiUrl)
  const fields: Record<string, unknown> = {}
  for (const text of flags.rawField ?? []) setField(fields, ...splitField('-f', text))
  for (const text of flags.field ?? []) {
    const [key, raw] = splitField('-F', text)
    setField(fields, key, typedField(raw))
  }
  const hasFields = Object.keys(fields).length > 0
  const body = flags.input === undefined ? undefined : readInput(flags.input)
  const method = (flags.method ?? (hasFields || flags.input !== undefined ? 'POST' : 'GET')).toUpperCase()
  if (!(METHODS as readonly string[]).includes(method))
    throw usageError(`--method ${flags.method}: one of ${METHODS.join(', ')}.`)

  const headers: Record<string, string> = {}
  for (const text of flags.header ?? []) {
    const at = text.indexOf(':')
    if (at <= 0) throw usageError(`-H "${text}" is not "Name: value".`)
    headers[text.slice(0, at).trim().toLowerCase()] = text.slice(at + 1).trim()
  }

  // As gh: fields are the query of a GET (and of anything with --input), else the body.
  const fieldsInQuery = method === 'GET' || method === 'HEAD' || flags.input !== undefined
  const merged: Record<string, QueryValue> = {...query}
  if (fieldsInQuery)
    for (const [key, value] of Object.entries(fields))
      merged[key] = Array.isArray(value)
        ? value.map(String)
        : typeof value === 'object'
          ? JSON.stringify(value)
          : String(value)
  return {
    body: fieldsInQuery ? body : hasFields ? fields : body,
    headers,
    method: method as HttpRequest['method'],
    path,
    query: merged,
  }
}

/**
 * Sends the request; with `paginate`, follows Port's `next` cursor (entity search: sent back as
 * `from` in the body, or the query of a GET) and joins the pages' arrays into one answer.
 */
export async function callApi(client: PortClient, request: HttpRequest, paginate = false): Promise<unknown> {
  const first = await client.request<unknown>(request)
  if (!paginate) return first
  const joined = isObject(first) ? {...first} : first
  let page = first
  while (isObject(page) && typeof page.next === 'string' && isObject(joined)) {
    const from = page.next
    const next: HttpRequest =
      request.method === 'GET'
        ? {...request, query: {...request.query, from}}
        : {...request, body: {...(isObject(request.body) ? request.body : {}), from}}
    page = await client.request<unknown>(next)
    if (!isObject(page)) break
    for (const [key, value] of Object.entries(page))
      if (Array.isArray(value) && Array.isArray(joined[key])) joined[key] = [...(joined[key] as unknown[]), ...value]
  }
  if (isObject(joined)) delete joined.next
  return joined
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
