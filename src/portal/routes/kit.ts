import type {Action, Blueprint, EntitiesQuery, EntityInput, Run} from '../../model/port.js'
import type {BlueprintPatch} from '../catalog/blueprints.js'
import type {RunPatch} from '../runs/runs.js'
import {schemas} from '../../schemas/registry.js'
import {forbidden, mayReport} from '../auth/access.js'
import type {PortalCore} from '../core.js'
import type {WriteMode} from '../catalog/entities.js'
import {booleanParam, listParam} from '../http/params.js'
import {invalid, notFound, PortalError} from '../http/errors.js'
import type {RequestContext} from '../http/router.js'
import {Scans} from '../catalog/scans.js'
import {entityText} from '../catalog/paging.js'
import {project, toWire} from '../catalog/wire.js'
import type {ActionPermissions, PermissionBlock, Role, StoredEntity} from '../store/store.js'

export const ok = (body: Record<string, unknown>, status = 200) => ({body: {ok: true, ...body}, status})

/** Each request body's schema in the shared registry, and the type a body that passes it has. */
export interface RequestBodies {
  'idp:action': Action
  'idp:blueprint': Blueprint
  'idp:entity': EntityInput
  'idp:entities-query': EntitiesQuery
  'idp:api-requests#/$defs/accessToken': {clientId: string; clientSecret: string}
  'idp:api-requests#/$defs/actionPermissions': Partial<Record<keyof ActionPermissions, Partial<PermissionBlock>>>
  'idp:api-requests#/$defs/approval': {status: 'APPROVE' | 'DECLINE'; description?: string}
  'idp:api-requests#/$defs/blueprintPatch': BlueprintPatch
  'idp:api-requests#/$defs/blueprintSearch': {
    query?: EntitiesQuery
    limit?: number
    from?: string
    include?: string[]
    exclude?: string[]
  }
  /** Items are objects here; Entities.write checks each, so a bulk write answers 207 with each item's errors. */
  'idp:api-requests#/$defs/bulkEntities': {entities: EntityInput[]}
  'idp:api-requests#/$defs/bulkDelete': {entities: string[]}
  'idp:api-requests#/$defs/claim': {
    installationId?: string
    limit?: number
    visibilityTimeoutMs?: number
    invocationMethod?: string
    exclude?: string[]
  }
  'idp:api-requests#/$defs/credentialCreate': {role: Role; email?: string; teams?: string[]}
  'idp:api-requests#/$defs/organizationPatch': {name?: string; settings?: Record<string, unknown>}
  'idp:api-requests#/$defs/runCreate': {properties: Record<string, unknown>; entity?: string}
  'idp:api-requests#/$defs/runIds': {runIds: string[]}
  'idp:api-requests#/$defs/runLog': {message: string; terminationStatus?: 'SUCCESS' | 'FAILURE'; statusLabel?: string}
  'idp:api-requests#/$defs/runPatch': RunPatch
  'idp:api-requests#/$defs/runResponse': {response: unknown}
}

/**
 * The request body, checked against its schema in the shared registry (422 naming every problem)
 * and typed as that schema's body. `defaults` fill fields the path already gives (PUT's identifier).
 */
export function body<R extends keyof RequestBodies>(
  request: RequestContext,
  ref: R,
  what: string,
  defaults: Record<string, unknown> = {},
): RequestBodies[R] {
  const given: unknown = request.body ?? null
  const value = isPlainObject(given) ? {...defaults, ...given} : given
  const result = schemas().validate(ref, value)
  if (!result.ok) throw invalid(what, result.issues)
  return value as RequestBodies[R]
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** Answers that are not paged hold at most this many entities; paged search has no such cap. */
export const MAX_UNPAGED = 10_000

export const tooMany = (what: string) =>
  new PortalError(
    413,
    'too_many_results',
    `${what} more than ${MAX_UNPAGED} entities; page through them with POST /v1/blueprints/{blueprint}/entities/search (limit, from)`,
  )

/**
 * Who writes and when; `run_id` ties entity writes to a run in the audit log. A self-call writes
 * on behalf of its run: credited to whoever started the run, and tied to it.
 */
const audit = (request: RequestContext) => {
  const behalf = 'onBehalfOf' in request.principal ? request.principal.onBehalfOf : undefined
  return {
    actor: behalf?.actor ?? request.caller.clientId,
    now: request.now,
    runId: request.query.get('run_id') ?? behalf?.runId,
  }
}

/** What the route modules share: the portal's domain classes and helpers built on them. */
export function routeKit(core: PortalCore) {
  const {actions, approvals, blueprints, entities, runs, store} = core
  const scans = new Scans(store)
  const runAudit = (request: RequestContext) => ({caller: request.caller, now: request.now})
  const write = <T>(work: () => Promise<T>) => core.write(work)

  const writeMode = (request: RequestContext): WriteMode => {
    if (!booleanParam(request.query, 'upsert')) return 'create'
    return booleanParam(request.query, 'merge') ? 'merge' : 'upsert'
  }
  const writeOptions = (request: RequestContext, mode: WriteMode) => ({
    ...audit(request),
    createMissingRelated: booleanParam(request.query, 'create_missing_related_entities'),
    mode,
    validationOnly: booleanParam(request.query, 'validation_only'),
  })
  /**
   * Whether the caller may see a run: those who may report on it, and members when its action
   * lets anyone view runs (Port's `allowAnyoneToViewRuns`, default true) or when they may approve
   * it. `openActions` caches that setting across the runs of one list.
   */
  const maySee = async (request: RequestContext, run: Run, openActions = new Map<string, boolean>()) => {
    if (mayReport(request.principal, run)) return true
    if (request.principal.kind !== 'member') return false
    const id = run.action.identifier
    if (!openActions.has(id)) openActions.set(id, (await store.getAction(id))?.allowAnyoneToViewRuns !== false)
    return openActions.get(id)! || approvals.mayApprove(run, request.caller, request.now)
  }
  /** The run, if the caller may see it; 404 otherwise, so that its existence is not told. */
  const visibleRun = async (request: RequestContext, id: string) => {
    const run = await runs.get(id)
    if (await maySee(request, run)) return run
    throw notFound(`Run "${id}" was not found`)
  }
  /** Status, logs and responses come from the run's backend: admins, agents, its own token, or whoever started it. */
  const reportableRun = async (request: RequestContext, id: string) => {
    const run = await visibleRun(request, id)
    if (!mayReport(request.principal, run)) {
      throw forbidden(
        `Only the run's backend (admin or agent credentials, its token) or whoever started it may report on run ${id}`,
      )
    }
    return run
  }
  const include = (request: RequestContext) => listParam(request.query, 'include')
  const exclude = (request: RequestContext) => listParam(request.query, 'exclude')
  /** An entity as answered, with `?include`/`?exclude` applied. */
  const view = (request: RequestContext) => (entity: StoredEntity) =>
    project(toWire(entity), include(request), exclude(request))
  /** The same for the entities a scan finds, as JSON texts (see JsonTexts). */
  const textView = (request: RequestContext) => entityText(include(request), exclude(request))

  return {
    actions,
    approvals,
    audit,
    blueprints,
    core,
    entities,
    maySee,
    reportableRun,
    runAudit,
    runs,
    scans,
    store,
    textView,
    view,
    visibleRun,
    write,
    writeMode,
    writeOptions,
  }
}

export type RouteKit = ReturnType<typeof routeKit>
