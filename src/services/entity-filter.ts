import type {Blueprint, EntitiesQuery, Rule} from '../model/port.js'
import {usageError} from '../errors.js'
import {didYouMean} from '../shared/suggest.js'

const META = new Set([
  '$identifier',
  '$title',
  '$team',
  '$icon',
  '$blueprint',
  '$createdAt',
  '$updatedAt',
  '$createdBy',
  '$updatedBy',
])

/**
 * Turns `--filter property=value` flags into Port search rules, typing each value by the
 * blueprint's schema (so `replicas=3` matches a number and `tags=x` an array element).
 */
export function filtersToQuery(filters: string[], blueprint: Blueprint): EntitiesQuery {
  const rules: Rule[] = filters.map((filter) => {
    const at = filter.indexOf('=')
    if (at <= 0) throw usageError(`--filter "${filter}" is not property=value.`, 'Example: --filter type=service')
    const property = filter.slice(0, at)
    const raw = filter.slice(at + 1)
    if (META.has(property)) return {operator: property === '$team' ? 'contains' : '=', property, value: raw}
    const schema = blueprint.schema.properties?.[property]
    const relation = blueprint.relations?.[property]
    if (!schema && !relation) {
      const known = [
        ...Object.keys(blueprint.schema.properties ?? {}),
        ...Object.keys(blueprint.relations ?? {}),
        ...META,
      ]
      throw usageError(
        `--filter "${filter}": blueprint "${blueprint.identifier}" has no property or relation "${property}".${didYouMean(property, known)}`,
        `Known: ${known.join(', ')}`,
      )
    }
    if (relation) return {operator: relation.many ? 'contains' : '=', property, value: raw}
    switch (schema!.type) {
      case 'number': {
        const value = Number(raw)
        if (raw.trim() === '' || Number.isNaN(value))
          throw usageError(`--filter "${filter}": "${property}" is a number.`)
        return {operator: '=', property, value}
      }
      case 'boolean':
        if (raw !== 'true' && raw !== 'false') throw usageError(`--filter "${filter}": "${property}" is true or false.`)
        return {operator: '=', property, value: raw === 'true'}
      case 'array':
        return {operator: 'contains', property, value: schema!.items?.type === 'number' ? Number(raw) : raw}
      case 'object':
        try {
          return {operator: '=', property, value: JSON.parse(raw)}
        } catch {
          throw usageError(`--filter "${filter}": "${property}" is an object; give it as JSON.`)
        }
      default: {
        // An enum's values are known: a value outside it would match nothing, so say so.
        const allowed = (schema!.enum ?? []).filter((value): value is string => typeof value === 'string')
        if (allowed.length > 0 && !allowed.includes(raw)) {
          throw usageError(
            `--filter "${filter}": "${raw}" is not a value of "${property}".${didYouMean(raw, allowed)}`,
            `Its values: ${allowed.join(', ')}`,
          )
        }
        return {operator: '=', property, value: raw}
      }
    }
  })
  return {combinator: 'and', rules}
}
