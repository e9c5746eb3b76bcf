import type {StoredEntity} from '../store/store.js'

/**
 * An entity as Port answers it: its fields, and also `blueprint` and the audit fields, which Port
 * sends and its clients read (the GitHub Action reads `entity.blueprint`) though the spec's
 * entity schema omits them (README: "Where the portal follows Port's clients").
 */
export function toWire(entity: StoredEntity): Record<string, unknown> {
  const {blueprint, createdAt, createdBy, icon, identifier, properties, relations, team, title, updatedAt, updatedBy} =
    entity
  return {
    identifier,
    ...(title === undefined ? {} : {title}),
    ...(icon === undefined ? {} : {icon}),
    team: team ?? [],
    properties,
    relations,
    blueprint,
    ...(createdAt === undefined ? {} : {createdAt, createdBy, updatedAt, updatedBy}),
  }
}

/** `include`/`exclude` field lists (`identifier`, `properties.foo`) applied to an entity. */
export function project(
  entity: Record<string, unknown>,
  include: string[],
  exclude: string[],
): Record<string, unknown> {
  let result = entity
  if (include.length > 0) {
    const picked: Record<string, unknown> = {}
    for (const path of include) {
      const [head, ...rest] = path.split('.')
      if (!head || !(head in result)) continue
      if (rest.length === 0) picked[head] = result[head]
      else {
        const inner = result[head] as Record<string, unknown> | undefined
        const key = rest.join('.')
        if (inner && key in inner) picked[head] = {...(picked[head] as object), [key]: inner[key]}
      }
    }
    result = picked
  }
  for (const path of exclude) {
    const [head, ...rest] = path.split('.')
    if (!head) continue
    if (rest.length === 0) {
      const {[head]: _removed, ...others} = result
      result = others
    } else if (result[head] && typeof result[head] === 'object') {
      const {[rest.join('.')]: _removed, ...others} = result[head] as Record<string, unknown>
      result = {...result, [head]: others}
    }
  }
  return result
}
