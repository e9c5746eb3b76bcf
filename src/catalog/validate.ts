import {refKey, type Blueprint} from '../model/port.js'
import {SYSTEM_BLUEPRINTS} from '../model/system-blueprints.js'
import {schemas} from '../schemas/registry.js'
import {checkBlueprintRules, checkEntity, relationTargets} from '../domain/entity-rules.js'
import type {RemoteState} from './remote.js'
import type {LocalCatalog, LocalEntity, Problem} from './types.js'

/** What a plan deletes: blueprint identifiers, and entities by `refKey`. */
export interface Pruned {
  blueprints: ReadonlySet<string>
  entities: ReadonlySet<string>
}
const PRUNED = ' (this source created it and its file is gone: restore the file, or remove the reference)'

/**
 * Checks a loaded catalog: blueprints against Port's blueprint schema, entities against their
 * blueprint (from the folder, else the portal), duplicates, and relation targets (in the folder,
 * else on the portal). Without `remote` nothing is fetched and targets must be in the folder.
 * Adds problems to the catalog; returns the blueprints entities are checked against.
 *
 * `trusted` entities skip the per-entity checks (duplicates are still found): `plan` and `sync`
 * pass those whose managed fields equal the portal's under an unchanged blueprint, which the
 * portal has already accepted; `trustedBlueprint` likewise for blueprints equal to the portal's.
 * `pruned` names what the plan deletes: it is left out of `remote`, and a reference to it says so.
 */
export function validateCatalog(
  catalog: LocalCatalog,
  remote?: RemoteState,
  trusted: (entity: LocalEntity) => boolean = () => false,
  trustedBlueprint: (identifier: string) => boolean = () => false,
  pruned: Pruned = {blueprints: new Set(), entities: new Set()},
): Map<string, Blueprint> {
  const problems = catalog.problems
  const add = (file: string, pointer: string, message: string, severity: Problem['severity'] = 'error') =>
    problems.push({file, message, pointer, severity})

  // Port's _team and _user exist on every portal; the portal's own (perhaps extended) win.
  // One warning for the legacy field, however many blueprints fill it in (an empty one says nothing).
  const legacy: {at: string; file: string}[] = []
  const known = new Map<string, Blueprint>([
    ...SYSTEM_BLUEPRINTS.map((blueprint) => [blueprint.identifier, blueprint] as const),
    ...(remote?.blueprints ?? []),
  ])
  const blueprintFiles = new Map<string, string>()
  for (const {at, file, value} of catalog.blueprints) {
    const shape = trustedBlueprint(value?.identifier) ? {ok: true as const} : schemas().validate('idp:blueprint', value)
    if (!shape.ok) for (const issue of shape.issues) add(file, at + issue.pointer, issue.message)
    else for (const issue of checkBlueprintRules(value)) add(file, at + issue.pointer, issue.message)
    const formulas = (value as {formulaProperties?: unknown}).formulaProperties
    if (formulas && typeof formulas === 'object' && Object.keys(formulas).length > 0) legacy.push({at, file})
    const first = blueprintFiles.get(value.identifier)
    if (first !== undefined)
      add(file, `${at}/identifier`, `duplicate blueprint "${value.identifier}", also defined in ${first}`)
    else blueprintFiles.set(value.identifier, file)
    if (shape.ok) known.set(value.identifier, value)
  }
  if (legacy.length > 0) {
    const others =
      legacy.length > 1
        ? ` (also in ${legacy.length - 1} more: ${legacy
            .slice(1)
            .map((item) => item.file)
            .join(', ')})`
        : ''
    add(
      legacy[0]!.file,
      `${legacy[0]!.at}/formulaProperties`,
      `"formulaProperties" is a legacy field that Port ignores; it is not synced${others}`,
      'warning',
    )
  }
  for (const {at, file, value} of catalog.blueprints) {
    for (const [name, relation] of Object.entries(value.relations ?? {})) {
      if (typeof relation?.target === 'string' && !known.has(relation.target)) {
        const where = pruned.blueprints.has(relation.target)
          ? `in the folder, and --prune deletes it from the portal${PRUNED}`
          : remote
            ? 'in the folder or on the portal'
            : 'in the folder (--remote also checks the portal)'
        add(file, `${at}/relations/${name}/target`, `targets blueprint "${relation.target}", which is not ${where}`)
      }
    }
  }

  const actionFiles = new Map<string, string>()
  for (const {at, file, value} of catalog.actions) {
    const shape = schemas().validate('idp:action', value)
    if (!shape.ok) {
      for (const issue of shape.issues) add(file, at + issue.pointer, issue.message)
      continue
    }
    const first = actionFiles.get(value.identifier)
    if (first !== undefined)
      add(file, `${at}/identifier`, `duplicate action "${value.identifier}", also defined in ${first}`)
    else actionFiles.set(value.identifier, file)
    const where = remote ? 'in the folder or on the portal' : 'in the folder (--remote also checks the portal)'
    const {trigger} = value
    const named: [string, string | undefined][] = [
      ['/trigger/blueprintIdentifier', trigger.blueprintIdentifier],
      ['/trigger/event/blueprintIdentifier', trigger.event?.blueprintIdentifier],
      ...Object.entries(trigger.userInputs?.properties ?? {}).map(
        ([name, input]) =>
          [
            `/trigger/userInputs/properties/${name}/blueprint`,
            (input.blueprint ?? input.items?.blueprint) as string | undefined,
          ] as [string, string | undefined],
      ),
    ]
    for (const [pointer, blueprint] of named) {
      if (blueprint && !known.has(blueprint))
        add(file, at + pointer, `names blueprint "${blueprint}", which is not ${where}`)
    }
  }

  // The first definition of each entity, per blueprint: finds duplicates and local relation targets.
  const local = new Map<string, Map<string, {file: string; at: string}>>()
  for (const {at, file, value} of catalog.entities) {
    if (!local.has(value.blueprint)) local.set(value.blueprint, new Map())
    const defined = local.get(value.blueprint)!
    if (!defined.has(value.identifier)) defined.set(value.identifier, {at, file})
  }
  for (const {at, blueprintFrom, file, value} of catalog.entities) {
    const first = local.get(value.blueprint)!.get(value.identifier)!
    if (first.file !== file || first.at !== at) {
      add(
        file,
        `${at}/identifier`,
        `duplicate entity "${value.identifier}" of blueprint "${value.blueprint}", also in ${first.file}`,
      )
      continue
    }
    if (trusted(value)) continue
    const blueprint = known.get(value.blueprint)
    if (!blueprint) {
      const how =
        blueprintFrom === 'field'
          ? 'its "blueprint" field'
          : `the folder it sits in (entities without a "blueprint" field take their folder's name)`
      const where = remote ? 'in the folder or on the portal' : 'in the folder (--remote also checks the portal)'
      add(
        file,
        blueprintFrom === 'field' ? `${at}/blueprint` : at,
        `unknown blueprint "${value.blueprint}", named by ${how}: it is not ${where}`,
      )
      continue
    }
    const {blueprint: _blueprint, ...entity} = value
    for (const issue of checkEntity(entity, blueprint)) add(file, at + issue.pointer, issue.message)
    for (const [name, target] of Object.entries(blueprint.relations ?? {})) {
      for (const id of relationTargets(value.relations?.[name] ?? null)) {
        if (local.get(target.target)?.has(id) || remote?.entities.get(target.target)?.has(id)) continue
        const where = pruned.entities.has(refKey({blueprint: target.target, identifier: id}))
          ? `in the folder, and --prune deletes it from the portal${PRUNED}`
          : remote
            ? 'in the folder or on the portal'
            : 'in the folder (--remote also checks the portal)'
        add(file, `${at}/relations/${name}`, `points at "${id}", which is not a "${target.target}" entity ${where}`)
      }
    }
  }
  return known
}
