import {ApiError, toApiError, unreachable} from './errors.js'
import {NetworkError, type HttpRequest, type HttpResponse, type HttpTransport} from './http.js'
import type {TokenProvider} from './token.js'
import type {
  Action,
  ActionPermissions,
  AuditFilter,
  AuditRecord,
  Blueprint,
  BulkResult,
  EntitiesQuery,
  Entity,
  EntityInput,
  Run,
  RunFilter,
  RunLog,
  UpsertOptions,
} from '../model/port.js'

export interface ClientOptions {
  apiUrl: string
  tokens: TokenProvider
  transport: HttpTransport
  /** What to tell a user whose portal does not answer. */
  unreachableHint: string
}

type Request = HttpRequest & {expect?: number[]}

const seg = encodeURIComponent

/**
 * The one client for Port's REST API (hosted Port and the embedded portal alike).
 * Resources hang off it: `client.blueprints.list()`, `client.entities.search(...)`.
 */
export class PortClient {
  readonly blueprints = new BlueprintsApi(this)
  readonly entities = new EntitiesApi(this)
  readonly actions = new ActionsApi(this)
  readonly runs = new RunsApi(this)
  readonly audit = new AuditApi(this)

  constructor(private readonly options: ClientOptions) {}

  get apiUrl(): string {
    return this.options.apiUrl
  }

  /** The current access token (for handlers the agent starts). */
  async token(): Promise<string> {
    return this.options.tokens.token()
  }

  /** Sends with a bearer token; a 401 gets one fresh token and one more try. Non-2xx throws ApiError. */
  async request<T>(request: Request): Promise<T> {
    let response = await this.send(request, await this.options.tokens.token())
    if (response.status === 401) {
      response = await this.send(request, await this.options.tokens.token({force: true}))
    }
    const ok = request.expect ? request.expect.includes(response.status) : response.status < 300
    if (!ok) throw toApiError(request, response, this.options.apiUrl)
    return response.body as T
  }

  /** A one-time link path that signs a browser in as these credentials (the embedded portal only). */
  async webLink(): Promise<{path: string; expiresAt: string}> {
    return this.request<{path: string; expiresAt: string}>({method: 'POST', path: '/v1/idp/web-links'})
  }

  async close(): Promise<void> {
    await this.options.transport.close()
  }

  private async send(request: Request, token: string): Promise<HttpResponse> {
    try {
      return await this.options.transport.send({
        ...request,
        headers: {...request.headers, authorization: `Bearer ${token}`},
      })
    } catch (error) {
      if (error instanceof NetworkError) throw unreachable(this.options.apiUrl, error, this.options.unreachableHint)
      throw error
    }
  }
}

class BlueprintsApi {
  constructor(private readonly client: PortClient) {}

  async list(): Promise<Blueprint[]> {
    return (await this.client.request<{blueprints: Blueprint[]}>({method: 'GET', path: '/v1/blueprints'})).blueprints
  }

  async get(identifier: string): Promise<Blueprint> {
    const path = `/v1/blueprints/${seg(identifier)}`
    return (await this.client.request<{blueprint: Blueprint}>({method: 'GET', path})).blueprint
  }

  async create(blueprint: Partial<Blueprint>): Promise<Blueprint> {
    const path = '/v1/blueprints'
    return (await this.client.request<{blueprint: Blueprint}>({body: blueprint, method: 'POST', path})).blueprint
  }

  async replace(identifier: string, blueprint: Partial<Blueprint>): Promise<Blueprint> {
    const path = `/v1/blueprints/${seg(identifier)}`
    return (await this.client.request<{blueprint: Blueprint}>({body: blueprint, method: 'PUT', path})).blueprint
  }

  async patch(identifier: string, changes: Partial<Blueprint>): Promise<Blueprint> {
    const path = `/v1/blueprints/${seg(identifier)}`
    const request = {body: changes, idempotent: true, method: 'PATCH', path} as const
    return (await this.client.request<{blueprint: Blueprint}>(request)).blueprint
  }

  async delete(identifier: string): Promise<void> {
    await this.client.request({method: 'DELETE', path: `/v1/blueprints/${seg(identifier)}`})
  }
}

class EntitiesApi {
  constructor(private readonly client: PortClient) {}

  async get(blueprint: string, identifier: string): Promise<Entity> {
    const path = `/v1/blueprints/${seg(blueprint)}/entities/${seg(identifier)}`
    return (await this.client.request<{entity: Entity}>({method: 'GET', path})).entity
  }

  async list(blueprint: string): Promise<Entity[]> {
    const path = `/v1/blueprints/${seg(blueprint)}/entities`
    return (await this.client.request<{entities: Entity[]}>({method: 'GET', path})).entities
  }

  async create(blueprint: string, entity: EntityInput, options: UpsertOptions = {}): Promise<Entity> {
    const path = `/v1/blueprints/${seg(blueprint)}/entities`
    const request = {
      body: entity,
      idempotent: Boolean(options.upsert),
      method: 'POST',
      path,
      query: upsertQuery(options),
    }
    return (await this.client.request<{entity: Entity}>(request as Request)).entity
  }

  /** At most 20 entities a request (Port's limit); answers 200 or 207 with per-item errors. */
  async bulkUpsert(blueprint: string, entities: EntityInput[], options: UpsertOptions = {}): Promise<BulkResult> {
    const path = `/v1/blueprints/${seg(blueprint)}/entities/bulk`
    const request = {
      body: {entities},
      expect: [200, 201, 207],
      idempotent: Boolean(options.upsert),
      method: 'POST',
      path,
      query: upsertQuery(options),
    }
    return this.client.request<BulkResult>(request as Request)
  }

  async delete(blueprint: string, identifier: string, {deleteDependents = false} = {}): Promise<void> {
    const path = `/v1/blueprints/${seg(blueprint)}/entities/${seg(identifier)}`
    await this.client.request({method: 'DELETE', path, query: {delete_dependents: deleteDependents}})
  }

  async bulkDelete(blueprint: string, identifiers: string[], {deleteDependents = false} = {}): Promise<string[]> {
    const path = `/v1/blueprints/${seg(blueprint)}/bulk/entities/delete`
    const request = {
      body: {entities: identifiers},
      idempotent: true,
      method: 'POST',
      path,
      query: {delete_dependents: deleteDependents},
    } as const
    return (await this.client.request<{deletedEntities: string[]}>(request)).deletedEntities
  }

  async count(blueprint: string): Promise<number> {
    const path = `/v1/blueprints/${seg(blueprint)}/entities-count`
    return (await this.client.request<{count: number}>({method: 'GET', path})).count
  }

  /** One page of a blueprint's entities; pass `next` back as `from` until it is absent. */
  async searchPage(
    blueprint: string,
    query: EntitiesQuery | undefined,
    page: {limit?: number; from?: string | undefined} = {},
  ): Promise<{entities: Entity[]; next?: string}> {
    const path = `/v1/blueprints/${seg(blueprint)}/entities/search`
    const body = {query: query ?? {combinator: 'and', rules: []}, limit: page.limit ?? 1000, from: page.from}
    return this.client.request({body, idempotent: true, method: 'POST', path})
  }

  /** Every matching entity of a blueprint, page by page. */
  async *search(blueprint: string, query?: EntitiesQuery, limit?: number): AsyncGenerator<Entity> {
    let from: string | undefined
    let seen = 0
    do {
      const page = await this.searchPage(blueprint, query, {from, limit: Math.min(1000, limit ?? 1000)})
      for (const entity of page.entities) {
        if (limit !== undefined && seen >= limit) return
        seen++
        yield entity
      }
      from = page.next
    } while (from && (limit === undefined || seen < limit))
  }

  /** Search across blueprints (`POST /v1/entities/search`). */
  async searchAll(query: EntitiesQuery): Promise<Entity[]> {
    const request = {body: query, idempotent: true, method: 'POST', path: '/v1/entities/search'} as const
    return (await this.client.request<{entities: Entity[]}>(request)).entities
  }
}

class ActionsApi {
  constructor(private readonly client: PortClient) {}

  async list(
    filter: {blueprint?: string[]; operation?: string[]; triggerType?: 'self-service' | 'automation'} = {},
  ): Promise<Action[]> {
    const query = {
      blueprint_identifier: filter.blueprint,
      operation: filter.operation,
      trigger_type: filter.triggerType,
      version: 'v2',
    }
    return (await this.client.request<{actions: Action[]}>({method: 'GET', path: '/v1/actions', query})).actions
  }

  async get(identifier: string): Promise<Action> {
    const path = `/v1/actions/${seg(identifier)}`
    return (await this.client.request<{action: Action}>({method: 'GET', path, query: {version: 'v2'}})).action
  }

  async create(action: Action): Promise<Action> {
    return (await this.client.request<{action: Action}>({body: action, method: 'POST', path: '/v1/actions'})).action
  }

  async replace(identifier: string, action: Action): Promise<Action> {
    const path = `/v1/actions/${seg(identifier)}`
    return (await this.client.request<{action: Action}>({body: action, method: 'PUT', path})).action
  }

  async permissions(identifier: string): Promise<ActionPermissions> {
    const path = `/v1/actions/${seg(identifier)}/permissions`
    return (await this.client.request<{permissions: ActionPermissions}>({method: 'GET', path})).permissions
  }

  /** Port's PATCH: each block given replaces the keys it names. */
  async updatePermissions(identifier: string, changes: Partial<ActionPermissions>): Promise<ActionPermissions> {
    const path = `/v1/actions/${seg(identifier)}/permissions`
    const request = {body: changes, idempotent: true, method: 'PATCH', path} as const
    return (await this.client.request<{permissions: ActionPermissions}>(request)).permissions
  }

  async delete(identifier: string): Promise<void> {
    await this.client.request({method: 'DELETE', path: `/v1/actions/${seg(identifier)}`})
  }
}

const RESERVED = {'x-port-reserved-usage': 'true'}

class RunsApi {
  constructor(private readonly client: PortClient) {}

  /** 202 with the new run; not retried after a dropped connection (it could run twice). */
  async create(action: string, body: {properties: Record<string, unknown>; entity?: string}): Promise<Run> {
    const path = `/v1/actions/${seg(action)}/runs`
    return (await this.client.request<{run: Run}>({body, method: 'POST', path})).run
  }

  /**
   * One run. With `since` and `wait`, the embedded portal holds the answer until the run differs
   * from `since` (its updatedAt) or `wait` seconds pass, and with `logOffset` it brings the log
   * lines from there as `idpLogs`; Port ignores all three and answers at once.
   */
  async get(
    id: string,
    changed?: {since?: string | undefined; wait?: number; logOffset?: number},
  ): Promise<Run & {idpLogs?: RunLog[]}> {
    const query = {
      version: 'v2',
      idp_log_offset: changed?.logOffset,
      idp_since: changed?.since,
      idp_wait: changed?.since === undefined ? undefined : changed.wait,
    }
    return (
      await this.client.request<{run: Run & {idpLogs?: RunLog[]}}>({
        method: 'GET',
        path: `/v1/actions/runs/${seg(id)}`,
        query,
      })
    ).run
  }

  async list(filter: Partial<RunFilter> = {}): Promise<Run[]> {
    const query = {
      action: filter.action,
      active: filter.active,
      blueprint: filter.blueprint,
      entity: filter.entity,
      external_run_id: filter.externalRunId,
      limit: filter.limit,
      source: filter.source,
      version: 'v2',
    }
    return (await this.client.request<{runs: Run[]}>({method: 'GET', path: '/v1/actions/runs', query})).runs
  }

  async patch(
    id: string,
    changes: Partial<Pick<Run, 'status' | 'statusLabel' | 'summary' | 'externalRunId'>> & {link?: string | string[]},
  ): Promise<Run> {
    const request = {
      body: changes,
      idempotent: true,
      method: 'PATCH',
      path: `/v1/actions/runs/${seg(id)}`,
      query: {version: 'v2'},
    } as const
    try {
      return (await this.client.request<{run: Run}>(request)).run
    } catch (error) {
      // Port refuses any PATCH of an ended run with 422, so a retry whose first attempt landed (or a
      // re-run of the same report) is refused too: when the run already holds every change, the
      // report converged.
      if (!(error instanceof ApiError && error.status === 422)) throw error
      const run = await this.get(id)
      if (holdsChanges(run, changes)) return run
      throw error
    }
  }

  async addLog(
    id: string,
    log: {message: string; terminationStatus?: 'SUCCESS' | 'FAILURE'; statusLabel?: string},
  ): Promise<RunLog> {
    const path = `/v1/actions/runs/${seg(id)}/logs`
    return (await this.client.request<{runLog: RunLog}>({body: log, method: 'POST', path})).runLog
  }

  /** At most 50 logs from `offset` (Port's page limit). */
  async logs(id: string, offset: number, limit = 50): Promise<RunLog[]> {
    const path = `/v1/actions/runs/${seg(id)}/logs`
    return (await this.client.request<{runLogs: RunLog[]}>({method: 'GET', path, query: {limit, offset}})).runLogs
  }

  /** The pull agent's queue (Port's execution-agent routes; release is idp's). */
  async claim(installationId: string, limit: number, visibilityTimeoutMs: number): Promise<Run[]> {
    // No invocationMethod: the embedded portal then hands out every kind idp agent handles
    // (agent WEBHOOKs and KAFKA); Port's agent asks for WEBHOOK only, so the two can share a portal.
    const body = {installationId, limit, visibilityTimeoutMs}
    const request = {
      body,
      headers: RESERVED,
      idempotent: false,
      method: 'POST',
      path: '/v1/actions/runs/claim-pending',
    } as const
    return (await this.client.request<{runs: Run[]}>(request)).runs
  }

  async ack(runIds: string[]): Promise<number> {
    const request = {
      body: {runIds},
      headers: RESERVED,
      idempotent: true,
      method: 'PATCH',
      path: '/v1/actions/runs/ack',
    } as const
    return (await this.client.request<{ackedCount: number}>(request)).ackedCount
  }

  async release(runIds: string[]): Promise<void> {
    await this.client.request({
      body: {runIds},
      headers: RESERVED,
      idempotent: true,
      method: 'PATCH',
      path: '/v1/actions/runs/release',
    })
  }

  /** idp's embedded portal: when agents last polled its queue; undefined where unknown (Port). */
  async agents(): Promise<{installationId: string; lastPollAt: string}[] | undefined> {
    try {
      const request = {method: 'GET', path: '/v1/idp/agents'} as const
      return (await this.client.request<{agents: {installationId: string; lastPollAt: string}[]}>(request)).agents
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined
      throw error
    }
  }

  /**
   * idp's embedded portal: tokens for runs' handlers, each ending with its run; runs that have
   * ended get none (Port answers 404).
   */
  async tokens(runIds: string[]): Promise<Map<string, string>> {
    const request = {body: {runIds}, method: 'POST', path: '/v1/idp/run-tokens'} as const
    const {tokens} = await this.client.request<{tokens: {runId: string; accessToken: string}[]}>(request)
    return new Map(tokens.map((token) => [token.runId, token.accessToken]))
  }

  async approve(id: string, decision: {status: 'APPROVE' | 'DECLINE'; description?: string}): Promise<Run> {
    const request = {
      body: decision,
      idempotent: true,
      method: 'PATCH',
      path: `/v1/actions/runs/${seg(id)}/approval`,
      query: {version: 'v2'},
    } as const
    return (await this.client.request<{run: Run}>(request)).run
  }
}

/** `GET /v1/audit-log`: what changed, by whom, for which run. */
class AuditApi {
  constructor(private readonly client: PortClient) {}

  async list(filter: Partial<AuditFilter>): Promise<AuditRecord[]> {
    const query = {
      action: filter.action,
      blueprint: filter.blueprint,
      entity: filter.entity,
      from: filter.from,
      identifier: filter.identifier,
      limit: filter.limit,
      resources: filter.resources,
      run_id: filter.runId,
      status: filter.status,
      to: filter.to,
    }
    return (await this.client.request<{audits: AuditRecord[]}>({method: 'GET', path: '/v1/audit-log', query})).audits
  }
}

function upsertQuery(options: UpsertOptions): Record<string, string | boolean | undefined> {
  return {
    create_missing_related_entities: options.createMissingRelatedEntities,
    merge: options.merge,
    run_id: options.runId,
    upsert: options.upsert ?? false,
    validation_only: options.validationOnly,
  }
}

/** Whether a run already shows each of a PATCH's changes (`link` as one URL or a list of them). */
function holdsChanges(run: Run, changes: Record<string, unknown>): boolean {
  return Object.entries(changes).every(([key, value]) =>
    key === 'link'
      ? [value].flat().every((url) => run.link?.includes(url as string))
      : value === undefined || run[key as keyof Run] === value,
  )
}
