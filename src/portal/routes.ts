import {timingSafeEqual} from 'node:crypto'

import type {EntitiesQuery, EntityInput, Run} from '../api/types.js'
import {schemas} from '../schemas/registry.js'
import {forbidden, mayReport, mayWriteEntities, maySeeRun} from './access.js'
import type {PortalCore} from './core.js'
import type {WriteMode} from './entities-service.js'
import {booleanParam, invalid, listParam, notFound, PortalError, type RequestContext, type Route} from './http.js'
import {breathe, Scans} from './scans.js'
import {compileQuery, project, toWire} from './search.js'
import {isFinal} from './runs-service.js'
import type {Role, StoredEntity} from './store/store.js'

const ok = (body: Record<string, unknown>, status = 200) => ({body: {ok: true, ...body}, status})
const audit = (request: RequestContext) => ({actor: request.caller.clientId, now: request.now})

function body<T>(request: RequestContext, ref: string, what: string): T {
  const result = schemas().validate(ref, request.body ?? null)
  if (!result.ok) throw invalid(what, result.issues)
  return request.body as T
}

/**
 * Every route of the portal, each with its access rule (access.ts) beside it. Changing the data
 * model (blueprints, actions, permissions) is for admins only, as in Port.
 */
export function routes(core: PortalCore): Route[] {
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
  const maySee = async (request: RequestContext, run: Run) => {
    if (mayReport(request.principal, run)) return true
    if (request.principal.kind !== 'member') return false
    const action = await store.getAction(run.action.identifier)
    const anyone = action?.allowAnyoneToViewRuns !== false
    return maySeeRun(request.principal, run, anyone) || runs.mayApprove(run, request.caller, request.now)
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
  const view = (request: RequestContext) => {
    const include = listParam(request.query, 'include')
    const exclude = listParam(request.query, 'exclude')
    return (entity: StoredEntity) => project(toWire(entity), include, exclude)
  }

  return [
    {
      auth: 'public',
      handler: async (request) => {
        const {clientId, clientSecret} = body<{clientId: string; clientSecret: string}>(
          request,
          'idp:api-requests#/$defs/accessToken',
          'Invalid token request',
        )
        const credential = await store.getCredential(clientId)
        if (!credential || !sameSecret(credential.clientSecret, clientSecret)) {
          throw new PortalError(401, 'invalid_credentials', 'Invalid credentials supplied to the generate token API')
        }
        const now = request.now.getTime()
        const token = await core.token(clientId)
        const expiresIn = Math.floor((token.expiresAt - now) / 1000)
        return ok({accessToken: token.token, expiresIn, tokenType: 'Bearer'})
      },
      method: 'POST',
      pattern: '/v1/auth/access_token',
    },

    // Credentials (idp extension; Port manages credentials in its UI)
    {
      auth: 'admin',
      handler: async () => ok({credentials: await core.credentials.list()}),
      method: 'GET',
      pattern: '/v1/idp/credentials',
    },
    {
      auth: 'admin',
      handler: async (request) => {
        const options = body<{role: Role; email?: string; teams?: string[]}>(
          request,
          'idp:api-requests#/$defs/credentialCreate',
          'Invalid credential',
        )
        return ok({credential: await write(() => core.credentials.create(options))}, 201)
      },
      method: 'POST',
      pattern: '/v1/idp/credentials',
    },
    {
      auth: 'admin',
      handler: async (request) => {
        await write(() => core.credentials.revoke(request.params.client!))
        return ok({})
      },
      method: 'DELETE',
      pattern: '/v1/idp/credentials/:client',
    },

    // Blueprints
    {
      auth: 'member',
      handler: async () => ok({blueprints: await store.listBlueprints()}),
      method: 'GET',
      pattern: '/v1/blueprints',
    },
    {
      auth: 'admin',
      handler: async (request) =>
        ok({blueprint: await write(() => blueprints.create(request.body, audit(request)))}, 201),
      method: 'POST',
      pattern: '/v1/blueprints',
    },
    {
      auth: 'member',
      handler: async (request) => ok({blueprint: await blueprints.get(request.params.bp!)}),
      method: 'GET',
      pattern: '/v1/blueprints/:bp',
    },
    {
      auth: 'admin',
      handler: async (request) =>
        ok({blueprint: await write(() => blueprints.replace(request.params.bp!, request.body, audit(request)))}),
      method: 'PUT',
      pattern: '/v1/blueprints/:bp',
    },
    {
      auth: 'admin',
      handler: async (request) =>
        ok({blueprint: await write(() => blueprints.patch(request.params.bp!, request.body, audit(request)))}),
      method: 'PATCH',
      pattern: '/v1/blueprints/:bp',
    },
    {
      auth: 'admin',
      handler: async (request) => {
        await write(() => blueprints.delete(request.params.bp!))
        return ok({})
      },
      method: 'DELETE',
      pattern: '/v1/blueprints/:bp',
    },
    {
      auth: 'member',
      handler: async (request) => {
        const {identifier} = await blueprints.get(request.params.bp!)
        return ok({count: await store.countEntities(identifier)})
      },
      method: 'GET',
      pattern: '/v1/blueprints/:bp/entities-count',
    },
    {
      auth: 'admin',
      handler: async (request) => {
        const {identifier: bp} = await blueprints.get(request.params.bp!)
        const deleteBlueprint = booleanParam(request.query, 'delete_blueprint')
        // In batches, each its own write, so other requests get through between them; a batch
        // that fails leaves the earlier ones done, and a retry finishes the job.
        for (;;) {
          const batch = await store.scanEntities({blueprint: bp, limit: 200})
          if (batch.length === 0) break
          await write(async () => {
            for (const {entity} of batch) {
              if (await store.getEntity(bp, entity.identifier)) {
                await entities.delete(bp, entity.identifier, {...audit(request), deleteDependents: true})
              }
            }
          })
          await breathe()
        }
        if (deleteBlueprint) await write(() => blueprints.delete(bp))
        return ok({})
      },
      method: 'DELETE',
      pattern: '/v1/blueprints/:bp/all-entities',
    },

    // Entities
    {
      auth: 'member',
      handler: async (request) => {
        const {identifier} = await blueprints.get(request.params.bp!)
        const shown = view(request)
        const rows = []
        for await (const page of scans.pages({blueprint: identifier}))
          rows.push(...page.map((row) => shown(row.entity)))
        return ok({entities: rows})
      },
      method: 'GET',
      pattern: '/v1/blueprints/:bp/entities',
    },
    {
      auth: 'run',
      handler: async (request) => {
        const mode = writeMode(request)
        const result = await write(async () => {
          const blueprint = await entities.blueprint(request.params.bp!)
          mayWriteEntities(request.principal, blueprint.identifier)
          return entities.write(blueprint, request.body as EntityInput, writeOptions(request, mode))
        })
        return ok({entity: toWire(result.entity)}, 201)
      },
      method: 'POST',
      pattern: '/v1/blueprints/:bp/entities',
    },
    {
      auth: 'run',
      handler: async (request) => {
        const {entities: items} = body<{entities: EntityInput[]}>(
          request,
          'idp:api-requests#/$defs/bulkEntities',
          'Invalid bulk request',
        )
        const options = writeOptions(request, writeMode(request))
        const outcome = await write(async () => {
          const blueprint = await entities.blueprint(request.params.bp!)
          mayWriteEntities(request.principal, blueprint.identifier)
          const done: {identifier: string; index: number; created: boolean; additionalData: object}[] = []
          const errors: {identifier: string; index: number; statusCode: number; error: string; message: string}[] = []
          for (const [index, item] of items.entries()) {
            try {
              const {entity, created} = await entities.write(blueprint, item, options)
              done.push({additionalData: {}, created, identifier: entity.identifier, index})
            } catch (error) {
              if (!(error instanceof PortalError)) throw error
              const identifier = typeof item?.identifier === 'string' ? item.identifier : 'unknown'
              errors.push({error: error.code, identifier, index, message: error.message, statusCode: error.status})
            }
          }
          return {done, errors}
        })
        return ok({entities: outcome.done, errors: outcome.errors}, outcome.errors.length > 0 ? 207 : 200)
      },
      method: 'POST',
      pattern: '/v1/blueprints/:bp/entities/bulk',
    },
    {
      auth: 'member',
      handler: async (request) => {
        const {entities: ids} = body<{entities: string[]}>(
          request,
          'idp:api-requests#/$defs/bulkDelete',
          'Invalid bulk delete',
        )
        const deleteDependents = booleanParam(request.query, 'delete_dependents')
        const deleted = await write(async () => {
          const {identifier: bp} = await blueprints.get(request.params.bp!)
          mayWriteEntities(request.principal, bp)
          const gone: string[] = []
          for (const id of new Set(ids)) {
            if (!(await store.getEntity(bp, id))) continue
            gone.push(...(await entities.delete(bp, id, {...audit(request), deleteDependents})))
          }
          return gone
        })
        return ok({deletedEntities: deleted})
      },
      method: 'POST',
      pattern: '/v1/blueprints/:bp/bulk/entities/delete',
    },
    {
      auth: 'member',
      handler: async (request) => {
        const bp = (await blueprints.get(request.params.bp!)).identifier
        const found = await store.getEntity(bp, request.params.id!)
        if (!found)
          throw new PortalError(404, 'not_found', `Entity "${request.params.id}" of blueprint "${bp}" was not found`)
        return ok({entity: view(request)(found)})
      },
      method: 'GET',
      pattern: '/v1/blueprints/:bp/entities/:id',
    },
    ...(['PUT', 'PATCH'] as const).map((method) => ({
      auth: 'run' as const,
      handler: async (request: RequestContext) => {
        const input = request.body as EntityInput
        if (
          input &&
          typeof input === 'object' &&
          input.identifier !== undefined &&
          input.identifier !== request.params.id
        ) {
          throw invalid('Invalid entity', [
            {message: `must be "${request.params.id}" (the identifier in the URL)`, pointer: '/identifier'},
          ])
        }
        const result = await write(async () => {
          const blueprint = await entities.blueprint(request.params.bp!)
          mayWriteEntities(request.principal, blueprint.identifier)
          const entity = {...input, identifier: request.params.id!}
          return entities.write(blueprint, entity, writeOptions(request, method === 'PUT' ? 'replace' : 'patch'))
        })
        return ok({entity: toWire(result.entity)})
      },
      method,
      pattern: '/v1/blueprints/:bp/entities/:id',
    })),
    {
      auth: 'member',
      handler: async (request) => {
        const deleteDependents = booleanParam(request.query, 'delete_dependents')
        await write(async () => {
          const {identifier} = await blueprints.get(request.params.bp!)
          mayWriteEntities(request.principal, identifier)
          await entities.delete(identifier, request.params.id!, {...audit(request), deleteDependents})
        })
        return ok({})
      },
      method: 'DELETE',
      pattern: '/v1/blueprints/:bp/entities/:id',
    },

    // The pull agent's routes (Port's execution agent uses the first two; release is idp's).
    {
      auth: 'agent',
      handler: async (request) => {
        const claim = body<{installationId?: string; limit?: number; visibilityTimeoutMs?: number}>(
          request,
          'idp:api-requests#/$defs/claim',
          'Invalid claim',
        )
        const now = request.now.getTime()
        const claimed = await write(() =>
          store.claimDispatches({
            installationId: claim.installationId ?? request.caller.clientId,
            limit: claim.limit ?? 100,
            now,
            until: now + (claim.visibilityTimeoutMs ?? 5 * 60_000),
          }),
        )
        const handed = []
        for (const {claimedUntil, installationId, runId} of claimed) {
          const run = await store.getRun(runId)
          if (run)
            handed.push({
              ...run,
              claimedUntil: new Date(claimedUntil!).toISOString(),
              installationId,
              pendingExecution: true,
            })
        }
        return ok({runs: handed})
      },
      method: 'POST',
      pattern: '/v1/actions/runs/claim-pending',
    },
    ...(['ack', 'release'] as const).map((verb) => ({
      auth: 'agent' as const,
      handler: async (request: RequestContext) => {
        const {runIds} = body<{runIds: string[]}>(request, 'idp:api-requests#/$defs/runIds', `Invalid ${verb}`)
        const count = await write(async () => {
          let changed = 0
          for (const runId of runIds) {
            const dispatch = await store.getDispatch(runId)
            if (dispatch?.state !== 'claimed') continue
            await store.putDispatch(
              verb === 'ack' ? {...dispatch, state: 'done'} : {...dispatch, claimedUntil: undefined, state: 'queued'},
            )
            changed++
          }
          return changed
        })
        return ok(verb === 'ack' ? {ackedCount: count} : {releasedCount: count})
      },
      method: 'PATCH',
      pattern: `/v1/actions/runs/${verb}`,
    })),
    {
      // idp extension: a token for the run's handler, which dies with the run (Port answers 404).
      // It may report on that run only (access.ts); only the queue's drivers may mint one.
      auth: 'agent',
      handler: async (request) => {
        const run = await runs.get(request.params.run!)
        if (isFinal(run)) throw new PortalError(422, 'run_terminated', `Run "${run.id}" has ended (${run.status})`)
        const token = await core.runToken(run.id, request.caller.clientId)
        const expiresIn = Math.floor((token.expiresAt - request.now.getTime()) / 1000)
        return ok({accessToken: token.token, expiresIn, tokenType: 'Bearer'}, 201)
      },
      method: 'POST',
      pattern: '/v1/actions/runs/:run/token',
    },

    // Runs
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
        for (const run of listed) if (await maySee(request, run)) list.push(run)
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
        const run = await runs.waitForChange(request.params.run!, request.query.get('idp_since'), waitSeconds * 1000)
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
        const changes = body<Record<string, unknown>>(request, 'idp:api-requests#/$defs/runPatch', 'Invalid run update')
        return ok({run: await write(() => runs.patch(request.params.run!, changes, runAudit(request)))})
      },
      method: 'PATCH',
      pattern: '/v1/actions/runs/:run',
    },
    {
      auth: 'run',
      handler: async (request) => {
        await reportableRun(request, request.params.run!)
        const log = body<{message: string; terminationStatus?: 'SUCCESS' | 'FAILURE'; statusLabel?: string}>(
          request,
          'idp:api-requests#/$defs/runLog',
          'Invalid run log',
        )
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
        const decision = body<{status: 'APPROVE' | 'DECLINE'; description?: string}>(
          request,
          'idp:api-requests#/$defs/approval',
          'Invalid approval',
        )
        const approvers = await runs.approvers(request.params.run!, request.now)
        return ok(
          {run: await write(() => runs.approve(request.params.run!, decision, runAudit(request), approvers))},
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
        return ok({approvers: await runs.approvalStates(request.params.run!, pending, request.now)})
      },
      method: 'GET',
      pattern: '/v1/actions/runs/:run/approvers',
    },

    // Actions
    {
      auth: 'member',
      handler: async (request) => ok({actions: await actions.list(request.query)}),
      method: 'GET',
      pattern: '/v1/actions',
    },
    {
      auth: 'admin',
      handler: async (request) => ok({action: await write(() => actions.create(request.body, audit(request)))}, 201),
      method: 'POST',
      pattern: '/v1/actions',
    },
    {
      auth: 'member',
      handler: async (request) => ok({action: await actions.get(request.params.id!)}),
      method: 'GET',
      pattern: '/v1/actions/:id',
    },
    {
      auth: 'admin',
      handler: async (request) =>
        ok({action: await write(() => actions.replace(request.params.id!, request.body, audit(request)))}),
      method: 'PUT',
      pattern: '/v1/actions/:id',
    },
    {
      auth: 'admin',
      handler: async (request) => {
        await write(() => actions.delete(request.params.id!))
        return ok({})
      },
      method: 'DELETE',
      pattern: '/v1/actions/:id',
    },
    {
      auth: 'member',
      handler: async (request) => {
        const {identifier} = await actions.get(request.params.id!)
        return ok({permissions: await core.permissions.get(identifier)})
      },
      method: 'GET',
      pattern: '/v1/actions/:id/permissions',
    },
    {
      auth: 'admin',
      handler: async (request) => {
        const changes = body<Parameters<PortalCore['permissions']['update']>[1]>(
          request,
          'idp:api-requests#/$defs/actionPermissions',
          'Invalid permissions',
        )
        const permissions = await write(async () => {
          const {identifier} = await actions.get(request.params.id!)
          return core.permissions.update(identifier, changes)
        })
        return ok({permissions})
      },
      method: 'PATCH',
      pattern: '/v1/actions/:id/permissions',
    },
    {
      auth: 'member',
      handler: async (request) => {
        const input = body<{properties: Record<string, unknown>; entity?: string}>(
          request,
          'idp:api-requests#/$defs/runCreate',
          'Invalid run',
        )
        const action = await actions.get(request.params.id!)
        // jq (inputs, permissions) runs before the write, so it never holds the write lock.
        const prepared = await runs.prepare(action, input, runAudit(request))
        return ok({run: await write(() => runs.commit(prepared))}, 202)
      },
      method: 'POST',
      pattern: '/v1/actions/:id/runs',
    },

    // Search
    {
      auth: 'member',
      handler: async (request) => {
        const search = body<{
          query?: EntitiesQuery
          limit?: number
          from?: string
          include?: string[]
          exclude?: string[]
        }>(request, 'idp:api-requests#/$defs/blueprintSearch', 'Invalid search request')
        const {identifier} = await blueprints.get(request.params.bp!)
        const match = await compileQuery(search.query ?? {combinator: 'and', rules: []}, store, request.now)
        const limit = search.limit ?? 200
        const found: {seq: number; entity: StoredEntity}[] = []
        const after = search.from ? decodeCursor(search.from) : 0
        for await (const page of scans.pages({after, blueprint: identifier})) {
          for (const row of page) if (found.length <= limit && match(row.entity)) found.push(row)
          if (found.length > limit) break
        }
        const shown = found.slice(0, limit)
        const shape = (entity: StoredEntity) => project(toWire(entity), search.include ?? [], search.exclude ?? [])
        const next = found.length > limit ? {next: encodeCursor(shown.at(-1)!.seq)} : {}
        return ok({entities: shown.map((row) => shape(row.entity)), ...next})
      },
      method: 'POST',
      pattern: '/v1/blueprints/:bp/entities/search',
    },
    {
      auth: 'member',
      handler: async (request) => {
        const query = body<EntitiesQuery>(request, 'idp:entities-query', 'Invalid search query')
        const match = await compileQuery(query, store, request.now)
        const shown = view(request)
        const matched: unknown[] = []
        const blueprintsMatched = new Set<string>()
        for await (const page of scans.pages({})) {
          for (const {entity} of page) {
            if (!match(entity)) continue
            matched.push(shown(entity))
            blueprintsMatched.add(entity.blueprint)
          }
        }
        return ok({entities: matched, matchingBlueprints: [...blueprintsMatched]})
      },
      method: 'POST',
      pattern: '/v1/entities/search',
    },
  ]
}

function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected)
  const b = Buffer.from(given)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Search cursors are opaque to clients (Port's `next`); here, the last row's sequence number. */
const encodeCursor = (seq: number) => Buffer.from(`seq:${seq}`).toString('base64url')

function decodeCursor(cursor: string): number {
  const match = /^seq:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString())
  if (!match) throw new PortalError(422, 'invalid_request', 'The "from" cursor is not one this portal returned')
  return Number(match[1])
}
