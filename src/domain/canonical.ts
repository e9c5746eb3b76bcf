import type {Action, Blueprint, EntityInput, Relation} from '../model/port.js'

/** Fields the portal computes or records itself; never compared, never written to files. */
export const AUDIT_FIELDS = ['createdAt', 'createdBy', 'updatedAt', 'updatedBy'] as const

/**
 * A blueprint in the form the portal stores it, without audit fields: every map present,
 * relation flags explicit, legacy `teamInheritance` as `ownership`, unknown keys (such as the
 * legacy `formulaProperties`) dropped. Files and portal answers compare equal in this form.
 */
export function canonicalBlueprint(input: Blueprint): Blueprint {
  const relations: Record<string, Relation> = {}
  for (const [name, relation] of Object.entries(input.relations ?? {})) {
    relations[name] = {...relation, many: relation.many ?? false, required: relation.required ?? false}
  }
  const inherited = input.teamInheritance as {path: string} | undefined
  const ownership = input.ownership ?? (inherited ? {path: inherited.path, type: 'Inherited'} : undefined)
  return {
    identifier: input.identifier,
    title: input.title,
    ...(input.description === undefined ? {} : {description: input.description}),
    ...(input.icon === undefined ? {} : {icon: input.icon}),
    ...(ownership ? {ownership} : {}),
    schema: {properties: input.schema?.properties ?? {}, required: input.schema?.required ?? []},
    relations,
    mirrorProperties: input.mirrorProperties ?? {},
    calculationProperties: input.calculationProperties ?? {},
    aggregationProperties: input.aggregationProperties ?? {},
    ...(input.changelogDestination ? {changelogDestination: input.changelogDestination} : {}),
  }
}

/** JSON with object keys sorted, so that equal values give equal text whatever the key order. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableStringify(item)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

export const same = (a: unknown, b: unknown): boolean =>
  a === b ||
  (typeof a === 'object' &&
    a !== null &&
    typeof b === 'object' &&
    b !== null &&
    stableStringify(a) === stableStringify(b))

/** null, [] and absent all mean "no related entity". */
export function relationValue(value: unknown): unknown {
  if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) return undefined
  return value
}

export const teamValue = (team: EntityInput['team']): string[] =>
  team === undefined || team === null ? [] : Array.isArray(team) ? team : [team]

/** An action without what the portal adds (its internal `id` and the audit fields). */
export function canonicalAction(action: Action): Action {
  const {createdAt: _a, createdBy: _b, id: _id, updatedAt: _c, updatedBy: _d, ...rest} = action
  return rest as Action
}
