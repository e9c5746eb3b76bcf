import type {Blueprint, EntityInput, PropertySchema, RelationValue} from '../model/port.js'
import {pointer, schemas, type SchemaIssue} from '../schemas/registry.js'

/** JSON-Schema keywords that carry over from a Port property to the value's schema. */
const VALUE_KEYWORDS = [
  'enum',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minItems',
  'maxItems',
  'uniqueItems',
] as const

const FORMATS: Record<string, string> = {
  'date-time': 'date-time',
  email: 'email',
  ipv4: 'ipv4',
  ipv6: 'ipv6',
  timer: 'date-time',
  url: 'uri',
}

/** The JSON Schema an entity's value for this Port property must satisfy. */
export function valueSchema(property: Partial<PropertySchema>): Record<string, unknown> {
  const schema: Record<string, unknown> = {}
  if (property.type) schema.type = property.type
  if (property.type === 'string' && property.format && FORMATS[property.format])
    schema.format = FORMATS[property.format]
  if (property.format === 'labeled-url') Object.assign(schema, {required: ['url'], type: 'object'})
  for (const keyword of VALUE_KEYWORDS) if (property[keyword] !== undefined) schema[keyword] = property[keyword]
  if (property.type === 'array' && property.items) schema.items = valueSchema(property.items)
  return schema
}

function propertiesSchema(blueprint: Blueprint): object {
  const properties = blueprint.schema?.properties ?? {}
  return {
    additionalProperties: false,
    properties: Object.fromEntries(Object.entries(properties).map(([key, property]) => [key, valueSchema(property)])),
    required: blueprint.schema?.required ?? [],
    type: 'object',
  }
}

/**
 * What the compiled validator of a blueprint is cached under: its schema's content, so two
 * versions of one blueprint (a catalog file and the portal's, or before and after an update)
 * never share a validator. Computed once per blueprint object.
 */
const cacheKeys = new WeakMap<Blueprint, string>()
function cacheKey(blueprint: Blueprint): string {
  let key = cacheKeys.get(blueprint)
  if (key === undefined) {
    key = `entity:${blueprint.identifier}:${JSON.stringify([blueprint.schema, blueprint.relations])}`
    cacheKeys.set(blueprint, key)
  }
  return key
}

/**
 * Checks an entity's shape and its property and relation values against its blueprint, without
 * looking anything up (relation targets are checked by the caller, which knows where to look).
 * Pointers are relative to the entity.
 */
export function checkEntity(entity: EntityInput, blueprint: Blueprint): SchemaIssue[] {
  const shape = schemas().validate('idp:entity', entity)
  if (!shape.ok) return shape.issues

  const issues: SchemaIssue[] = []
  const properties = withoutNulls(entity.properties ?? {})
  const result = schemas().validateWith(cacheKey(blueprint), () => propertiesSchema(blueprint), properties)
  if (!result.ok) {
    for (const issue of result.issues) {
      const message =
        issue.message === 'is not allowed here'
          ? `is not a property of blueprint "${blueprint.identifier}"`
          : issue.message
      issues.push({message, pointer: '/properties' + issue.pointer})
    }
  }

  const relations = blueprint.relations ?? {}
  for (const [name, value] of Object.entries(entity.relations ?? {})) {
    const relation = relations[name]
    if (!relation) {
      issues.push({
        message: `is not a relation of blueprint "${blueprint.identifier}"`,
        pointer: pointer('relations', name),
      })
    } else if (relation.many && value !== null && !Array.isArray(value)) {
      issues.push({
        message: 'must be an array of entity identifiers (the relation is many)',
        pointer: pointer('relations', name),
      })
    } else if (!relation.many && Array.isArray(value)) {
      issues.push({
        message: 'must be one entity identifier (the relation is not many)',
        pointer: pointer('relations', name),
      })
    } else if (Array.isArray(value) && value.length > MAX_RELATION_TARGETS) {
      issues.push({
        message: `has ${value.length} targets; a relation holds at most ${MAX_RELATION_TARGETS}`,
        pointer: pointer('relations', name),
      })
    }
  }
  for (const [name, relation] of Object.entries(relations)) {
    if (relation.required && isEmptyRelation(entity.relations?.[name])) {
      issues.push({message: 'is required', pointer: pointer('relations', name)})
    }
  }
  return issues
}

/**
 * A many-relation's size limit: relation upkeep (a deleted target is removed from every list that
 * names it) stays bounded per request.
 */
export const MAX_RELATION_TARGETS = 1000

export function isEmptyRelation(value: RelationValue | undefined): boolean {
  return value === undefined || value === null || (Array.isArray(value) && value.length === 0)
}

export function relationTargets(value: RelationValue | undefined): string[] {
  if (value === undefined || value === null) return []
  return Array.isArray(value) ? value : [value]
}

/** Each relation of a blueprint and the blueprint it targets. */
export const relationTargetsOf = (blueprint: Blueprint): Record<string, string> =>
  Object.fromEntries(Object.entries(blueprint.relations ?? {}).map(([name, relation]) => [name, relation.target]))

/** Port treats a null property as unset; idp stores and compares it that way. */
export function withoutNulls(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== null && value !== undefined))
}

/** Blueprint-level rules that JSON Schema cannot express. */
export function checkBlueprintRules(blueprint: Blueprint): SchemaIssue[] {
  const issues: SchemaIssue[] = []
  const properties = blueprint.schema?.properties ?? {}
  for (const [index, name] of (blueprint.schema?.required ?? []).entries()) {
    if (!(name in properties)) {
      issues.push({message: `names "${name}", which is not a property`, pointer: pointer('schema', 'required', index)})
    }
  }
  for (const [name, property] of Object.entries(properties)) {
    if (property.enum && property.default !== undefined && !property.enum.includes(property.default)) {
      issues.push({
        message: 'must be one of the enum values',
        pointer: pointer('schema', 'properties', name, 'default'),
      })
    }
    if (property.format === 'timer' && property.type !== 'string') {
      issues.push({
        message: 'timer properties must have type "string"',
        pointer: pointer('schema', 'properties', name, 'type'),
      })
    }
  }
  const taken = new Set(Object.keys(properties))
  for (const group of ['relations', 'mirrorProperties', 'calculationProperties', 'aggregationProperties'] as const) {
    for (const name of Object.keys((blueprint[group] as Record<string, unknown> | undefined) ?? {})) {
      if (taken.has(name))
        issues.push({
          message: `"${name}" is already used by another property or relation`,
          pointer: pointer(group, name),
        })
      taken.add(name)
    }
  }
  return issues
}
