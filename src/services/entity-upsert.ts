import {readFileSync} from 'node:fs'

import type {PortClient} from '../api/port-client.js'
import {ApiError, exitCodeForStatus} from '../api/errors.js'
import {checkEntity} from '../domain/entity-rules.js'
import {lineColumn, locatePointer} from '../catalog/locate.js'
import {ExitCode, IdpError, usageError, validationError} from '../errors.js'
import type {Blueprint, Entity, EntityInput, PropertySchema, UpsertOptions} from '../model/port.js'
import type {SchemaIssue} from '../schemas/registry.js'
import {didYouMean} from '../shared/suggest.js'

/** Port's bulk route takes at most 20 entities a request. */
export const BULK_CHUNK = 20

export interface EntityFlags {
  identifier?: string | undefined
  title?: string | undefined
  icon?: string | undefined
  property?: string[] | undefined
  relation?: string[] | undefined
  team?: string[] | undefined
}

/** Where entities came from, so that problems can say where to fix them. */
export type EntitySource = {kind: 'flags'} | {kind: 'file'; name: string; text: string; list: boolean}

function keyValue(flag: string, text: string): [string, string] {
  const at = text.indexOf('=')
  if (at <= 0) throw usageError(`${flag} "${text}" is not name=value.`, `Example: ${flag} replicas=3`)
  return [text.slice(0, at), text.slice(at + 1)]
}

/**
 * A `--property name=value`'s value typed by the blueprint's schema: numbers, booleans, arrays
 * and objects as JSON would have them (`null` clears any of those).
 */
function typedValue(flag: string, name: string, raw: string, schema: Partial<PropertySchema>): unknown {
  const fail = (expected: string) => usageError(`${flag} ${name}=${raw}: "${name}" ${expected}.`)
  if (schema.type !== 'string' && raw === 'null') return null
  switch (schema.type) {
    case 'number': {
      const value = Number(raw)
      if (raw.trim() === '' || !Number.isFinite(value)) throw fail('is a number')
      return value
    }
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw fail('is true or false')
      return raw === 'true'
    case 'object':
    case 'array': {
      try {
        return JSON.parse(raw)
      } catch {
        throw fail(`is ${schema.type === 'array' ? 'an array' : 'an object'}; give it as JSON`)
      }
    }
    default:
      return raw
  }
}

/** A value typed without the blueprint: as JSON where it parses (3, true, null, [..], {..}), else text. */
function untypedValue(raw: string): unknown {
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

/**
 * One entity from `--identifier`, `--title`, `--property k=v`, `--relation r=t` and `--team` flags.
 * `blueprint` types and checks them; without it (a run's token may not read blueprints) values
 * are read as JSON where they parse, a repeated relation is a list, and the portal checks them.
 */
export function entityFromFlags(flags: EntityFlags, blueprint: Blueprint | undefined): EntityInput {
  const entity: EntityInput = {}
  if (flags.identifier !== undefined) entity.identifier = flags.identifier
  if (flags.title !== undefined) entity.title = flags.title
  if (flags.icon !== undefined) entity.icon = flags.icon
  if (flags.team?.length) entity.team = flags.team

  const schemas = blueprint?.schema.properties ?? {}
  const properties: Record<string, unknown> = {}
  for (const text of flags.property ?? []) {
    const [name, raw] = keyValue('--property', text)
    if (!blueprint) {
      properties[name] = untypedValue(raw)
      continue
    }
    const schema = schemas[name]
    if (!schema) {
      const known = Object.keys(schemas)
      throw usageError(
        `--property ${text}: blueprint "${blueprint.identifier}" has no property "${name}".${didYouMean(name, known)}`,
        known.length ? `Its properties: ${known.join(', ')}` : undefined,
      )
    }
    if (schema.type === 'array' && raw !== 'null' && !raw.trimStart().startsWith('[')) {
      // Not JSON: one item per flag, typed by the array's items.
      const item = typedValue('--property', name, raw, {...schema.items, type: schema.items?.type ?? 'string'})
      const list = Array.isArray(properties[name]) ? (properties[name] as unknown[]) : []
      properties[name] = [...list, item]
    } else {
      properties[name] = typedValue('--property', name, raw, schema)
    }
  }
  if (Object.keys(properties).length > 0) entity.properties = properties

  const relations: Record<string, string | string[] | null> = {}
  for (const text of flags.relation ?? []) {
    const [name, target] = keyValue('--relation', text)
    const relation = blueprint
      ? blueprint.relations?.[name]
      : {many: (flags.relation ?? []).filter((other) => other.startsWith(`${name}=`)).length > 1}
    if (!relation) {
      const known = Object.keys(blueprint?.relations ?? {})
      throw usageError(
        `--relation ${text}: blueprint "${blueprint?.identifier}" has no relation "${name}".${didYouMean(name, known)}`,
        known.length ? `Its relations: ${known.join(', ')}` : undefined,
      )
    }
    if (target === '') relations[name] = relation.many ? [] : null
    else if (relation.many) relations[name] = [...((relations[name] as string[] | undefined) ?? []), target]
    else if (typeof relations[name] === 'string')
      throw usageError(`--relation ${name} is given twice, but "${name}" relates to one entity (it is not many).`)
    else relations[name] = target
  }
  if (Object.keys(relations).length > 0) entity.relations = relations
  return entity
}

/** One entity or an array of them, as JSON (or YAML for .yaml/.yml files), from a file or stdin (`-`). */
export async function readEntityFile(file: string): Promise<{entities: EntityInput[]; source: EntitySource}> {
  const name = file === '-' ? 'stdin' : file
  let text: string
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8')
  } catch (error) {
    throw usageError(`--file ${file}: ${(error as Error).message}`)
  }
  return parseEntities(text, name)
}

async function parseEntities(text: string, name: string): Promise<{entities: EntityInput[]; source: EntitySource}> {
  let value: unknown
  if (/\.ya?ml$/i.test(name)) {
    const {parse} = await import('yaml')
    try {
      value = parse(text)
    } catch (error) {
      throw validationError(`${name}: ${(error as Error).message}`)
    }
  } else {
    try {
      value = JSON.parse(text)
    } catch (error) {
      const message = (error as Error).message
      const position = /at position (\d+)/.exec(message)
      const where = position ? lineColumn(text, Number(position[1])) : undefined
      throw validationError(
        `${name}${where ? `:${where.line}:${where.column}` : ''}: not valid JSON (${message.replace(/ in JSON at position \d+.*$/, '')}).`,
      )
    }
  }
  const list = Array.isArray(value)
  const entities = (list ? value : [value]) as unknown[]
  const notObject = entities.findIndex(
    (entity) => typeof entity !== 'object' || entity === null || Array.isArray(entity),
  )
  if (notObject >= 0 || entities.length === 0)
    throw validationError(
      `${name}: ${entities.length === 0 ? 'the array is empty' : `${list ? `/${notObject}` : 'the document'} is not an entity object`}; give one entity object or an array of them.`,
    )
  return {entities: entities as EntityInput[], source: {kind: 'file', list, name, text}}
}

const FLAG_OF: Record<string, string> = {
  icon: '--icon',
  identifier: '--identifier',
  properties: '--property',
  relations: '--relation',
  team: '--team',
  title: '--title',
}

/**
 * Checks every entity against its blueprint before anything is sent, with the shared ajv
 * registry; throws one validation error listing each problem by flag, or by file, line, column
 * and JSON pointer. With `merge`, what is left out is kept, so nothing is required.
 */
export async function checkEntities(
  entities: EntityInput[],
  blueprint: Blueprint,
  {merge, source}: {merge: boolean; source: EntitySource},
): Promise<EntityInput[]> {
  const rules = merge ? optionalEverything(blueprint) : blueprint
  const cleaned = entities.map((entity, index) => {
    // A catalog file's entity may name its blueprint; the API's entity has no such field.
    const {blueprint: named, ...rest} = entity
    const prefix = source.kind === 'file' && source.list ? `/${index}` : ''
    const issues: SchemaIssue[] =
      named !== undefined && named !== blueprint.identifier
        ? [{message: `names blueprint "${String(named)}", not "${blueprint.identifier}"`, pointer: '/blueprint'}]
        : []
    issues.push(...checkEntity(rest, rules))
    return {issues, prefix, rest}
  })
  const lines: string[] = []
  for (const {issues, prefix} of cleaned) {
    for (const issue of issues) lines.push(await describeIssue(issue, prefix, source))
  }
  if (lines.length > 0) {
    const where = source.kind === 'file' ? source.name : 'the flags'
    throw validationError(
      `${lines.length} ${lines.length === 1 ? 'problem' : 'problems'} in ${where}; nothing was sent:\n${lines.map((line) => `  ${line}`).join('\n')}`,
      `The blueprint: idp blueprint get ${blueprint.identifier}`,
    )
  }
  return cleaned.map(({rest}) => rest)
}

/**
 * Entities sent unchecked (the credentials may not read the blueprint): only a catalog file's
 * `blueprint` field is dropped, and refused when it names another blueprint.
 */
export function uncheckedEntities(entities: EntityInput[], blueprint: string): EntityInput[] {
  return entities.map(({blueprint: named, ...rest}, index) => {
    if (named !== undefined && named !== blueprint)
      throw validationError(`Entity ${index} names blueprint "${String(named)}", not "${blueprint}".`)
    return rest
  })
}

async function describeIssue(issue: SchemaIssue, prefix: string, source: EntitySource): Promise<string> {
  if (source.kind === 'flags') {
    const [, field, name] = issue.pointer.split('/')
    const flag = FLAG_OF[field ?? '']
    if (!flag) return `${issue.pointer || 'the entity'} ${issue.message}`
    return name !== undefined && (field === 'properties' || field === 'relations')
      ? `${flag} ${name}: ${issue.message}`
      : `${flag}: ${issue.message}`
  }
  const pointer = prefix + issue.pointer
  const {column, line} = await locatePointer(source.text, pointer)
  return `${source.name}:${line}:${column}: ${pointer || '/'} ${issue.message}`
}

/** The blueprint's rules with nothing required: a merge keeps what it leaves out. */
function optionalEverything(blueprint: Blueprint): Blueprint {
  return {
    ...blueprint,
    relations: Object.fromEntries(
      Object.entries(blueprint.relations ?? {}).map(([name, relation]) => [name, {...relation, required: false}]),
    ),
    schema: {...blueprint.schema, required: []},
  }
}

export interface BulkOutcome {
  entities: {index: number; identifier: string; created: boolean}[]
  errors: {index: number; identifier: string; status: number; error: string; message: string}[]
}

/**
 * The blueprint to type and check entities by; undefined when these credentials may not read it
 * (a run's token), so that the portal checks them instead.
 */
export async function readableBlueprint(client: PortClient, identifier: string): Promise<Blueprint | undefined> {
  try {
    return await client.blueprints.get(identifier)
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return undefined
    throw error
  }
}

/** One entity: Port's upsert route, which answers with the entity as stored. */
export async function upsertOne(
  client: PortClient,
  blueprint: string,
  entity: EntityInput,
  options: Pick<UpsertOptions, 'merge' | 'runId'>,
): Promise<Entity> {
  return client.entities.create(blueprint, entity, {...options, upsert: true})
}

/**
 * Many entities: Port's bulk route, 20 a request in order; each item's error is kept with its
 * index. A request refused as a whole (413, 422, 5xx after retries) fails its items and the rest
 * go on, so the outcome still says exactly what was written.
 */
export async function upsertMany(
  client: PortClient,
  blueprint: string,
  entities: EntityInput[],
  options: Pick<UpsertOptions, 'merge' | 'runId'>,
): Promise<BulkOutcome> {
  const outcome: BulkOutcome = {entities: [], errors: []}
  for (let start = 0; start < entities.length; start += BULK_CHUNK) {
    const chunk = entities.slice(start, start + BULK_CHUNK)
    let result
    try {
      result = await client.entities.bulkUpsert(blueprint, chunk, {...options, upsert: true})
    } catch (error) {
      if (!(error instanceof ApiError)) throw error
      chunk.forEach((entity, index) =>
        outcome.errors.push({
          error: error.code,
          identifier: entity.identifier ?? '',
          index: start + index,
          message: error.message,
          status: error.status,
        }),
      )
      continue
    }
    for (const item of result.entities)
      outcome.entities.push({created: item.created, identifier: item.identifier, index: start + item.index})
    for (const item of result.errors)
      outcome.errors.push({
        error: item.error,
        identifier: item.identifier,
        index: start + item.index,
        message: item.message,
        status: item.statusCode,
      })
  }
  outcome.errors.sort((a, b) => a.index - b.index)
  return outcome
}

/**
 * A bulk upsert where some items failed: exit 4 when the portal refused any for lack of permission
 * (running it again cannot help), else 8 when others were written, else the items' own code.
 */
export function bulkFailure(outcome: BulkOutcome): IdpError {
  const failed = outcome.errors.length
  const written = outcome.entities.length
  const refused = outcome.errors.find((error) => error.status === 401 || error.status === 403)
  return new IdpError(
    `${failed} of ${failed + written} entities were not written${written ? '; the others were' : ''}.`,
    {
      code: refused ? 'forbidden' : written ? 'partial' : (outcome.errors[0]?.error ?? 'bulk_failed'),
      exitCode: refused
        ? ExitCode.AUTH
        : written
          ? ExitCode.PARTIAL
          : exitCodeForStatus(outcome.errors[0]?.status ?? 500),
      hint: refused
        ? 'Each refusal above says who may write it; `idp auth status` shows whose credentials these are.'
        : 'Each failed item is listed above with its index in the input; fix them and run the upsert again.',
    },
  )
}
