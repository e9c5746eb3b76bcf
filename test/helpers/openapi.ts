import {existsSync, readFileSync} from 'node:fs'

import {Ajv2020} from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import {parse} from 'yaml'

import {ROOT} from './cli.js'

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default

/** Port's published OpenAPI spec, beside the checkout in ../shared (or IDP_PORT_OPENAPI). */
export const SPEC_PATH = process.env.IDP_PORT_OPENAPI ?? ROOT + '../shared/port-openapi.yaml'
export const hasSpec = existsSync(SPEC_PATH)

type Operation = {
  responses?: Record<string, {content?: Record<string, {schema?: unknown}>}>
  requestBody?: {content?: Record<string, {schema?: unknown}>}
}
let loaded: {ajv: Ajv2020; paths: Record<string, Record<string, Operation>>} | undefined

function spec() {
  if (!loaded) {
    const document = parse(readFileSync(SPEC_PATH, 'utf8')) as {paths: Record<string, Record<string, Operation>>}
    const ajv = new Ajv2020({allErrors: true, strict: false, validateFormats: true})
    addFormats(ajv)
    ajv.addSchema({...document, $id: 'port-openapi'})
    loaded = {ajv, paths: document.paths}
  }
  return loaded
}

const escape = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1')

/** The spec's path template that a concrete path like `/v1/blueprints/x/entities` matches. */
export function templateFor(method: string, path: string): string | undefined {
  const bare = path.split('?')[0]!
  const candidates = Object.keys(spec().paths).filter((template) => spec().paths[template]![method.toLowerCase()])
  const matches = candidates.filter((template) =>
    new RegExp(`^${template.replaceAll(/\{[^}]+\}/g, '[^/]+')}$`).test(bare),
  )
  // Prefer the most literal template (`/entities/search` over `/entities/{id}`).
  return matches.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0))[0]
}

export interface SpecCheck {
  /** null when the spec declares no schema for this status. */
  errors: string[] | null
}

/**
 * Fields Port sends and its clients rely on that the spec's schemas leave out; the one list of
 * them (README: "Where the portal follows Port's clients rather than its spec"). They are taken
 * off before a response is checked; everything else must fit the spec.
 */
export const BEYOND_THE_SPEC = {
  // The GitHub Action reads entity.blueprint; Port sends the audit fields with every entity.
  entity: ['blueprint', 'createdAt', 'createdBy', 'updatedAt', 'updatedBy'],
}

function withoutClientFields(body: unknown): unknown {
  if (body === null || typeof body !== 'object') return body
  const copy = structuredClone(body) as Record<string, unknown>
  const strip = (entity: unknown) => {
    if (entity && typeof entity === 'object')
      for (const field of BEYOND_THE_SPEC.entity) delete (entity as Record<string, unknown>)[field]
  }
  strip(copy.entity)
  if (Array.isArray(copy.entities)) copy.entities.forEach(strip)
  return copy
}

export function checkResponse(method: string, path: string, status: number, body: unknown): SpecCheck {
  const template = templateFor(method, path)
  if (!template) throw new Error(`No ${method} ${path} in Port's spec`)
  const response = spec().paths[template]![method.toLowerCase()]!.responses?.[String(status)]
  if (!response?.content?.['application/json']?.schema) return {errors: null}
  const ref = `port-openapi#/paths/${escape(template)}/${method.toLowerCase()}/responses/${status}/content/application~1json/schema`
  return validate(ref, withoutClientFields(body))
}

export function checkRequest(method: string, path: string, body: unknown): SpecCheck {
  const template = templateFor(method, path)
  if (!template) throw new Error(`No ${method} ${path} in Port's spec`)
  if (!spec().paths[template]![method.toLowerCase()]!.requestBody?.content?.['application/json']?.schema)
    return {errors: null}
  const ref = `port-openapi#/paths/${escape(template)}/${method.toLowerCase()}/requestBody/content/application~1json/schema`
  return validate(ref, body)
}

function validate(ref: string, body: unknown): SpecCheck {
  const validator = spec().ajv.getSchema(ref)
  if (!validator) throw new Error(`Cannot resolve ${ref}`)
  if (validator(body)) return {errors: []}
  return {
    errors: (validator.errors ?? []).map(
      (error) => `${error.instancePath || '/'} ${error.message} ${JSON.stringify(error.params)}`,
    ),
  }
}
