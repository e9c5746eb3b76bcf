import {ApiError, UnreachableError} from './errors.js'
import {NetworkError, type HttpRequest, type HttpResponse, type HttpTransport} from './http.js'
import type {TokenProvider} from './token.js'
import type {Blueprint, BulkResult, EntitiesQuery, Entity, EntityInput, UpsertOptions} from './types.js'

export interface ClientOptions {
  apiUrl: string
  tokens: TokenProvider
  transport: HttpTransport
  /** What to tell a user whose portal does not answer. */
  unreachableHint: string
}

type Request = Omit<HttpRequest, 'headers'> & {expect?: number[]}

const seg = encodeURIComponent

/**
 * The one client for Port's REST API (hosted Port and the embedded portal alike).
 * Resources hang off it: `client.blueprints.list()`, `client.entities.search(...)`.
 */
export class PortClient {
  readonly blueprints = new BlueprintsApi(this)
  readonly entities = new EntitiesApi(this)

  constructor(private readonly options: ClientOptions) {}

  get apiUrl(): string {
    return this.options.apiUrl
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

  async close(): Promise<void> {
    await this.options.transport.close()
  }

  private async send(request: Request, token: string): Promise<HttpResponse> {
    try {
      return await this.options.transport.send({...request, headers: {authorization: `Bearer ${token}`}})
    } catch (error) {
      if (error instanceof NetworkError) throw unreachable(this.options.apiUrl, error, this.options.unreachableHint)
      throw error
    }
  }
}

export function unreachable(apiUrl: string, error: NetworkError, hint: string): UnreachableError {
  const reason = error.code === 'ECONNREFUSED' ? 'connection refused' : error.code
  return new UnreachableError(apiUrl, reason, hint)
}

export function toApiError(request: Pick<HttpRequest, 'method' | 'path'>, response: HttpResponse, apiUrl: string) {
  const body = (typeof response.body === 'object' && response.body !== null ? response.body : {}) as Record<
    string,
    unknown
  >
  const code = typeof body.error === 'string' ? body.error : `http_${response.status}`
  const message =
    typeof body.message === 'string'
      ? body.message
      : `${request.method} ${request.path} failed with HTTP ${response.status}${typeof response.body === 'string' && response.body ? `: ${response.body.slice(0, 200)}` : ''}`
  return new ApiError(response.status, code, message, request.method, apiUrl + request.path, body.details)
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

function upsertQuery(options: UpsertOptions): Record<string, string | boolean | undefined> {
  return {
    create_missing_related_entities: options.createMissingRelatedEntities,
    merge: options.merge,
    run_id: options.runId,
    upsert: options.upsert ?? false,
    validation_only: options.validationOnly,
  }
}
