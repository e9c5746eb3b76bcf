import {booleanParam, listParam} from '../http/params.js'
import {PortalError} from '../http/errors.js'
import type {Route} from '../http/router.js'
import {body, ok, type RouteKit} from './kit.js'
import {waitForChange} from '../runs/long-poll.js'

/** Action runs: reading, reporting (status, logs), approvals. */
export function runRoutes(kit: RouteKit): Route[] {
  const {approvals, core, maySee, reportableRun, runAudit, runs, store, visibleRun, write} = kit
  return [
    {
      auth: 'member',
      handler: async (request) => {
        const {query} = request
        const limit = Number(query.get('limit') ?? 100)
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
          throw new PortalError(422, 'invalid_request', 'Query parameter "limit" must be a whole number from 1 to 1000')
        }
        const active = query.get('active')
        const listed = await store.listRuns({
          action: query.get('action') ?? undefined,
          active: active === null ? undefined : booleanParam(query, 'active'),
          blueprint: query.get('blueprint') ?? undefined,
          entity: query.get('entity') ?? undefined,
          externalRunId: query.get('external_run_id') ?? undefined,
          limit,
          source: listParam(query, 'source'),
          userId: query.get('user_id') ?? undefined,
        })
        const list = []
        const openActions = new Map<string, boolean>()
        for (const run of listed) if (await maySee(request, run, openActions)) list.push(run)
        return ok({runs: list})
      },
      method: 'GET',
      pattern: '/v1/actions/runs',
    },
    {
      auth: 'run',
      handler: async (request) => {
        const waitSeconds = Math.min(Math.max(Number(request.query.get('idp_wait') ?? 0) || 0, 0), 30)
        await visibleRun(request, request.params.run!)
        const run = await waitForChange(
          runs,
          core.events,
          request.params.run!,
          request.query.get('idp_since'),
          waitSeconds * 1000,
        )
        // idp_log_offset: the run's log lines from there come with it (one request per change).
        const logOffset = request.query.get('idp_log_offset')
        if (logOffset === null) return ok({run})
        return ok({run: {...run, idpLogs: await store.runLogs(run.id, Math.max(0, Number(logOffset) || 0), 50)}})
      },
      method: 'GET',
      pattern: '/v1/actions/runs/:run',
    },
    {
      auth: 'run',
      handler: async (request) => {
        await reportableRun(request, request.params.run!)
        const changes = body(request, 'idp:api-requests#/$defs/runPatch', 'Invalid run update')
        return ok({run: await write(() => runs.patch(request.params.run!, changes, runAudit(request)))})
      },
      method: 'PATCH',
      pattern: '/v1/actions/runs/:run',
    },
    {
      // Port's agent reports a synchronized webhook's answer here (undocumented in Port's spec).
      auth: 'run',
      handler: async (request) => {
        await reportableRun(request, request.params.run!)
        const {response} = body(request, 'idp:api-requests#/$defs/runResponse', 'Invalid response')
        return ok({run: await write(() => runs.respond(request.params.run!, response, runAudit(request)))})
      },
      method: 'PATCH',
      pattern: '/v1/actions/runs/:run/response',
    },
    {
      auth: 'run',
      handler: async (request) => {
        await reportableRun(request, request.params.run!)
        const log = body(request, 'idp:api-requests#/$defs/runLog', 'Invalid run log')
        return ok({runLog: await write(() => runs.addLog(request.params.run!, log, runAudit(request)))}, 201)
      },
      method: 'POST',
      pattern: '/v1/actions/runs/:run/logs',
    },
    {
      auth: 'run',
      handler: async (request) => {
        const {id} = await visibleRun(request, request.params.run!)
        const limit = Number(request.query.get('limit') ?? 50)
        const offset = Number(request.query.get('offset') ?? 0)
        if (!Number.isInteger(limit) || limit < 1 || limit > 50 || !Number.isInteger(offset) || offset < 0) {
          throw new PortalError(422, 'invalid_request', '"limit" must be 1 to 50 and "offset" a whole number ≥ 0')
        }
        return ok({runLogs: await store.runLogs(id, offset, limit)})
      },
      method: 'GET',
      pattern: '/v1/actions/runs/:run/logs',
    },
    {
      auth: 'member',
      handler: async (request) => {
        const decision = body(request, 'idp:api-requests#/$defs/approval', 'Invalid approval')
        const approvers = await approvals.approvers(request.params.run!, request.now)
        // A failing approve policy is told in the run's log, whatever the decision comes to.
        if (approvers.problems.length > 0)
          await write(() => runs.logProblems(request.params.run!, approvers.problems, request.now))
        return ok(
          {run: await write(() => approvals.approve(request.params.run!, decision, runAudit(request), approvers))},
          201,
        )
      },
      method: 'PATCH',
      pattern: '/v1/actions/runs/:run/approval',
    },
    {
      auth: 'member',
      handler: async (request) => {
        const pending = booleanParam(request.query, 'include_pending_approvers')
        await visibleRun(request, request.params.run!)
        return ok({approvers: await approvals.approvalStates(request.params.run!, pending, request.now)})
      },
      method: 'GET',
      pattern: '/v1/actions/runs/:run/approvers',
    },
  ]
}
