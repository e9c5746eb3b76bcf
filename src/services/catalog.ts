import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import type {PortClient} from '../api/port-client.js'
import {refKey, type Blueprint, type Entity} from '../model/port.js'
import {SYSTEM_BLUEPRINTS, USER_BLUEPRINT} from '../model/system-blueprints.js'
import {AUDIT_FIELDS, canonicalAction, canonicalBlueprint, same} from '../domain/canonical.js'
import {computePlan, countPlan, type Plan, type PlanCounts} from '../catalog/diff.js'
import {CONFIG_FILE, catalogFiles, folderName, loadCatalog} from '../catalog/load.js'
import {locateProblems} from '../catalog/locate.js'
import {Ownership, REGISTRY_BLUEPRINT} from '../catalog/ownership.js'
import {EntityFetcher, fetchActions, fetchBlueprints, fetchEntities, type RemoteState} from '../catalog/remote.js'
import {resolveSource, type CatalogSource} from '../catalog/source.js'
import type {LocalCatalog, LocalEntity, Problem} from '../catalog/types.js'
import {validateCatalog, type Pruned} from '../catalog/validate.js'
import {relationTargets} from '../domain/entity-rules.js'
import {usageError} from '../errors.js'

export interface Checked {
  catalog: LocalCatalog
  errors: Problem[]
  warnings: Problem[]
}

/** Entity blueprints of the folder, and the blueprints their relations point at. */
function blueprintsToFetch(catalog: LocalCatalog, definitions: Map<string, Blueprint>): Set<string> {
  const wanted = new Set<string>()
  for (const {value} of catalog.entities) {
    wanted.add(value.blueprint)
    for (const relation of Object.values(definitions.get(value.blueprint)?.relations ?? {})) wanted.add(relation.target)
  }
  return wanted
}

function localDefinitions(catalog: LocalCatalog, remote: Map<string, Blueprint>): Map<string, Blueprint> {
  const definitions = new Map(remote)
  for (const {value} of catalog.blueprints) if (value?.identifier) definitions.set(value.identifier, value)
  return definitions
}

async function finish(catalog: LocalCatalog, extra: Problem[] = []): Promise<Checked> {
  const problems = [...catalog.problems, ...extra]
  await locateProblems(problems, (file) => readFileSync(file, 'utf8'))
  const order = (a: Problem, b: Problem) =>
    a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0)
  return {
    catalog,
    errors: problems.filter((problem) => problem.severity === 'error').sort(order),
    warnings: problems.filter((problem) => problem.severity === 'warning').sort(order),
  }
}

/**
 * The folder a catalog command works on: DIR, or else the current folder when it looks like a
 * catalog (idp-catalog.json, or blueprints/, entities/ or actions/ in it). Elsewhere, in a
 * repository's root say, reading every JSON file would report package.json and tsconfig.json as
 * bad documents: it is a usage error that names the catalog folders below, found by their marker.
 */
export function catalogDir(dir: string | undefined, command: string): string {
  if (dir !== undefined) return dir
  if ([CONFIG_FILE, 'blueprints', 'entities', 'actions'].some((name) => existsSync(name))) return '.'
  const found = findMarkers('.', 3)
  throw usageError(
    `The current folder is not a catalog folder (it has no ${CONFIG_FILE}, blueprints/, entities/ or actions/).`,
    found.length > 0
      ? `Pass the catalog folder as DIR: ${found.map((folder) => `idp ${command} ${folder}`).join(', or ')}`
      : `Pass the catalog folder as DIR: idp ${command} path/to/catalog`,
  )
}

/** Folders below `root` (to `depth` levels, skipping dot-folders and node_modules) holding the marker file. */
function findMarkers(root: string, depth: number): string[] {
  const found: string[] = []
  const visit = (folder: string, left: number) => {
    for (const entry of readdirSync(folder, {withFileTypes: true})) {
      if (!entry.isDirectory() || entry.name.startsWith('.') || entry.name === 'node_modules') continue
      const path = folder === '.' ? entry.name : join(folder, entry.name)
      if (existsSync(join(path, CONFIG_FILE))) found.push(path)
      else if (left > 1) visit(path, left - 1)
    }
  }
  visit(root, depth)
  return found.sort()
}

/** DIR must be a folder: checked before the portal is asked anything. */
export function ensureFolder(root: string): void {
  if (!existsSync(root))
    throw usageError(`No catalog folder at ${root}.`, 'Pass the folder that holds your blueprint and entity files.')
  if (!statSync(root).isDirectory()) {
    const parent = dirname(root)
    throw usageError(
      `${root} is a file; idp catalog works on a folder of catalog files.`,
      `Pass its folder (${parent}), which holds the other files it relates to.`,
    )
  }
}

/** `catalog validate`: offline unless `client` is given (--remote). */
export async function validateFolder(root: string, client?: PortClient): Promise<Checked> {
  ensureFolder(root)
  const catalog = await loadCatalog(root)
  let remote: RemoteState | undefined
  if (client) {
    const blueprints = await fetchBlueprints(client)
    const entities = await fetchEntities(
      client,
      blueprints,
      blueprintsToFetch(catalog, localDefinitions(catalog, blueprints)),
    )
    remote = {actions: await fetchActions(client), blueprints, entities}
  }
  validateCatalog(catalog, remote)
  return finish(catalog, reservedProblems(catalog))
}

export interface Prepared extends Checked {
  plan: Plan
  counts: PlanCounts
  /** Owned documents missing from the folder, which --prune would delete. */
  prunable: number
  remote: RemoteState
  ownership: Ownership
  source: CatalogSource | undefined
}

export interface PrepareOptions {
  source?: string | undefined
  env: NodeJS.ProcessEnv
  prune: boolean
  force: boolean
  adopt?: boolean
}

/** Reads the folder and the portal, validates everything, and computes the plan. Writes nothing. */
export async function prepareSync(client: PortClient, root: string, options: PrepareOptions): Promise<Prepared> {
  ensureFolder(root)
  const source = resolveSource(root, {env: options.env, flag: options.source})
  if (options.prune && !source) {
    throw usageError(
      `--prune needs to know which catalog source ${root} is, and it is not in a git repository with a remote.`,
      'Pass --source NAME (or set IDP_CATALOG_SOURCE, or put {"source": "NAME"} in idp-catalog.json in the folder).',
    )
  }
  // The portal answers these while the folder is being read: blueprints, actions, ownership
  // records, then the entities of every blueprint the folder's sub-folders are named after.
  const remoteBlueprints = fetchBlueprints(client)
  const remoteOwnership = remoteBlueprints.then((blueprints) =>
    Ownership.read(client, blueprints.has(REGISTRY_BLUEPRINT)),
  )
  const remoteActions = fetchActions(client)
  remoteActions.catch(() => undefined)
  let fetcher: EntityFetcher | undefined
  let folders: string[] = []
  const started = remoteBlueprints.then((blueprints) => {
    fetcher = new EntityFetcher(client, blueprints)
    fetcher.want(folders.filter((name) => blueprints.has(name)))
  })
  started.catch(() => undefined)
  remoteOwnership.catch(() => undefined)
  const catalog = await loadCatalog(root, {onFiles: (files) => (folders = [...new Set(files.map(folderName))])})
  const blueprints = await remoteBlueprints
  const ownership = await remoteOwnership
  await started
  fetcher!.want(blueprintsToFetch(catalog, localDefinitions(catalog, blueprints)))
  if (source) fetcher!.want(ownership.ownedBy(source.key).entities.keys())
  const remote: RemoteState = {actions: await remoteActions, blueprints, entities: await fetcher!.all()}
  const plan = computePlan(catalog, remote, ownership, source, {
    adopt: options.adopt ?? false,
    force: options.force,
    prune: options.prune,
  })
  const changedBlueprints = new Set(
    plan.blueprints.filter((change) => change.action !== 'unchanged').map((change) => change.identifier),
  )
  const unchanged = new Set(
    plan.entities.filter((change) => change.action === 'unchanged').map((change) => refKey(change)),
  )
  const unchangedBlueprints = new Set(
    plan.blueprints.filter((change) => change.action === 'unchanged').map((change) => change.identifier),
  )
  // Relations are judged against the portal as the sync leaves it: what --prune deletes is gone.
  const pruned = {
    blueprints: new Set(
      plan.blueprints.filter((change) => change.action === 'delete').map((change) => change.identifier),
    ),
    entities: new Set(plan.entities.filter((change) => change.action === 'delete').map((change) => refKey(change))),
  }
  // Entities that stay on the portal and require a pruned one would block its delete: fetch the
  // blueprints whose required relations lead to a pruned entity's blueprint, to find them now.
  const definitions = localDefinitions(catalog, blueprints)
  if (pruned.entities.size > 0) {
    const prunedBlueprints = new Set(
      plan.entities.filter((change) => change.action === 'delete').map((change) => change.blueprint),
    )
    fetcher!.want(
      [...definitions.values()]
        .filter((blueprint) =>
          Object.values(blueprint.relations ?? {}).some((r) => r.required && prunedBlueprints.has(r.target)),
        )
        .map((blueprint) => blueprint.identifier),
    )
    remote.entities = await fetcher!.all()
  }
  const prunedIds = new Set(plan.entities.filter((change) => change.action === 'delete').map((c) => c.identifier))
  const pointsAtPruned = (entity: LocalEntity) =>
    Object.values(entity.relations ?? {}).some((value) => relationTargets(value).some((id) => prunedIds.has(id)))
  validateCatalog(
    catalog,
    afterPrune(remote, pruned),
    (entity) => !changedBlueprints.has(entity.blueprint) && unchanged.has(refKey(entity)) && !pointsAtPruned(entity),
    (identifier) => unchangedBlueprints.has(identifier),
    pruned,
  )
  const checked = await finish(catalog, [
    ...reservedProblems(catalog),
    ...plan.conflicts,
    ...requiredByPortal(catalog, remote, definitions, pruned),
  ])
  return {...checked, counts: countPlan(plan), ownership, plan, prunable: plan.prunable, remote, source}
}

/**
 * Entities on the portal and not in the folder that stay after the sync but require, through a
 * required relation, an entity `--prune` deletes: the portal would refuse that delete.
 */
function requiredByPortal(
  catalog: LocalCatalog,
  remote: RemoteState,
  definitions: Map<string, Blueprint>,
  pruned: Pruned,
): Problem[] {
  if (pruned.entities.size === 0) return []
  const local = new Set(catalog.entities.map(({value}) => refKey(value)))
  const problems: Problem[] = []
  for (const [blueprint, entities] of remote.entities) {
    const required = Object.entries(definitions.get(blueprint)?.relations ?? {}).filter(([, r]) => r.required)
    if (required.length === 0 || pruned.blueprints.has(blueprint)) continue
    for (const entity of entities.values()) {
      const key = refKey({blueprint, identifier: entity.identifier})
      if (local.has(key) || pruned.entities.has(key)) continue
      for (const [name, relation] of required)
        for (const id of relationTargets(entity.relations?.[name] ?? null))
          if (pruned.entities.has(refKey({blueprint: relation.target, identifier: id})))
            problems.push({
              file: catalog.root,
              message: `"${entity.identifier}" (${blueprint}) on the portal requires "${id}" (${relation.target}) through "${name}", so --prune cannot delete it: restore its file, or change or delete "${entity.identifier}" first`,
              severity: 'error',
            })
    }
  }
  return problems
}

/** The portal's state once `pruned` is deleted from it. */
function afterPrune(remote: RemoteState, pruned: Pruned): RemoteState {
  if (pruned.blueprints.size === 0 && pruned.entities.size === 0) return remote
  const blueprints = new Map([...remote.blueprints].filter(([identifier]) => !pruned.blueprints.has(identifier)))
  const entities = new Map(
    [...remote.entities]
      .filter(([blueprint]) => !pruned.blueprints.has(blueprint))
      .map(([blueprint, byId]) => [
        blueprint,
        new Map([...byId].filter(([identifier]) => !pruned.entities.has(refKey({blueprint, identifier})))),
      ]),
  )
  return {...remote, blueprints, entities}
}

function reservedProblems(catalog: LocalCatalog): Problem[] {
  return catalog.blueprints
    .filter(({value}) => value?.identifier === REGISTRY_BLUEPRINT)
    .map(({at, file}) => ({
      file,
      message: `"${REGISTRY_BLUEPRINT}" is reserved for idp's ownership records`,
      pointer: `${at}/identifier`,
      severity: 'error' as const,
    }))
}

export interface ExportResult {
  dir: string
  blueprints: number
  actions: number
  entities: number
}

/** Room for a name plus `.json` within the 255 bytes most file systems allow for one name. */
const MAX_NAME = 200

/**
 * The file (or folder) name for an identifier: characters unsafe on some systems percent-encoded,
 * and a long one cut short with a hash of the whole, so any identifier fits and two never collide.
 * The documents name their identifier (and blueprint) inside, so `catalog load` never reads a name.
 */
export function fileName(identifier: string): string {
  const encoded = encodeURIComponent(identifier)
    .replaceAll('*', '%2A')
    .replace(/^\.+/, (dots) => '%2E'.repeat(dots.length))
  if (encoded.length <= MAX_NAME) return encoded
  const hash = createHash('sha256').update(identifier).digest('hex').slice(0, 16)
  // Cut before a partial %XX escape, so the short name still decodes.
  const head = encoded.slice(0, MAX_NAME - hash.length - 1).replace(/%[0-9A-F]?$/, '')
  return `${head}-${hash}`
}

/**
 * Writes the portal's blueprints and entities as catalog files: blueprints/<id>.json and
 * entities/<blueprint>/<id>.json. `plan` on the result shows no changes.
 */
export async function exportCatalog(
  client: PortClient,
  dir: string,
  options: {blueprints?: string[]; force: boolean},
): Promise<ExportResult> {
  if (existsSync(dir) && catalogFiles(dir).length > 0 && !options.force) {
    throw usageError(
      `${dir} already holds catalog files.`,
      'Export into an empty folder, or pass --force to overwrite files in it.',
    )
  }
  const all = await client.blueprints.list()
  const unknown = (options.blueprints ?? []).filter((id) => !all.some((blueprint) => blueprint.identifier === id))
  if (unknown.length > 0) throw usageError(`No blueprint ${unknown.map((id) => `"${id}"`).join(', ')} on the portal.`)
  const asked = (identifier: string) => options.blueprints?.includes(identifier) ?? false
  // Ownership records are the portal's; `_user` entities mirror credentials, so they go only when asked.
  const chosen = all.filter(
    (blueprint) =>
      blueprint.identifier !== REGISTRY_BLUEPRINT &&
      (options.blueprints?.length ? asked(blueprint.identifier) : blueprint.identifier !== USER_BLUEPRINT),
  )
  const write = (path: string, value: unknown) => {
    mkdirSync(join(path, '..'), {recursive: true})
    writeFileSync(path, JSON.stringify(value, null, 2) + '\n')
  }
  // Actions go with the blueprint they belong to (all of them when no --blueprint is given).
  const chosenIds = new Set(chosen.map((blueprint) => blueprint.identifier))
  const actions = (await client.actions.list()).filter((action) => {
    const blueprint = action.trigger.blueprintIdentifier ?? action.trigger.event?.blueprintIdentifier
    return !options.blueprints?.length || (blueprint !== undefined && chosenIds.has(blueprint))
  })
  for (const action of actions)
    write(join(dir, 'actions', `${fileName(action.identifier)}.json`), canonicalAction(action))
  let entities = 0
  let blueprints = 0
  for (const blueprint of chosen) {
    const document = canonicalBlueprint(blueprint) as Record<string, unknown>
    for (const field of AUDIT_FIELDS) delete document[field]
    // Port's _team and _user exist everywhere: their definitions go only where they were extended.
    const system = SYSTEM_BLUEPRINTS.find((defaults) => defaults.identifier === blueprint.identifier)
    const extended = !system || !same(canonicalBlueprint(system), document)
    if (extended) {
      write(join(dir, 'blueprints', `${fileName(blueprint.identifier)}.json`), document)
      blueprints++
    }
    const folder = fileName(blueprint.identifier)
    for await (const entity of client.entities.search(blueprint.identifier)) {
      write(
        join(dir, 'entities', folder, `${fileName(entity.identifier)}.json`),
        entityDocument(entity, folder === blueprint.identifier ? undefined : blueprint.identifier),
      )
      entities++
    }
  }
  return {actions: actions.length, blueprints, dir, entities}
}

function entityDocument(entity: Entity, blueprint: string | undefined): Record<string, unknown> {
  return {
    identifier: entity.identifier,
    ...(blueprint ? {blueprint} : {}),
    ...(entity.title === undefined || entity.title === null ? {} : {title: entity.title}),
    ...(entity.icon === undefined || entity.icon === null ? {} : {icon: entity.icon}),
    ...(entity.team?.length ? {team: entity.team} : {}),
    properties: entity.properties ?? {},
    relations: entity.relations ?? {},
  }
}
