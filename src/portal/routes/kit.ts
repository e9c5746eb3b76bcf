import type {Run} from '../../model/port.js'
import {schemas} from '../../schemas/registry.js'
import {forbidden, mayReport} from '../access.js'
import type {PortalCore} from '../core.js'
import type {WriteMode} from '../entities-service.js'
import {booleanParam, invalid, listParam, notFound, PortalError, type RequestContext} from '../http.js'
import {Scans} from '../scans.js'
import {entityText, project, toWire} from '../search.js'
import type {StoredEntity} from '../store/store.js'

export const ok = (body: Record<string, unknown>, status = 200) => ({body: {ok: true, ...body}, status})

/** The request body, checked against a schema of the shared registry (422 naming every problem). */
export function body<T>(request: RequestContext, ref: string, what: string): T {
  const result = schemas().validate(ref, request.body ?? null)
  if (!result.ok) throw invalid(what, result.issues)
  return request.body as T
}

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
  const {actions, blueprints, entities, runs, store} = core
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
    return openActions.get(id)! || runs.mayApprove(run, request.caller, request.now)
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
