import type {IncomingMessage, RequestListener, ServerResponse} from 'node:http'

import {authorize, type Principal} from './auth/access.js'
import type {PortalCore} from './core.js'
import {PortalError} from './http/errors.js'
import {readJsonBody} from './http/body.js'
import {Router} from './http/router.js'
import {plainBody, send} from './http/reply.js'
import {RateLimiter, type RateLimit} from './http/rate-limit.js'
import {routes} from './routes/index.js'
import {isFinal} from '../model/port.js'
import {StoreUnavailableError, type Credential} from './store/store.js'
import {systemClock, type Clock} from '../shared/when.js'
import type {WebView} from './web/index.js'
import {SESSION_COOKIE, WebSessions} from './web/sessions.js'

export interface AppOptions {
  core: PortalCore
  clock?: Clock
  /** Called with each unexpected (500) error. */
  onError?: (error: unknown) => void
  /** Emulate Port's rate limits (off by default). */
  rateLimit?: RateLimit | undefined
}

const ANONYMOUS: Credential = {clientId: 'anonymous', clientSecret: '', createdAt: '', role: 'member'}

/** Builds the portal's request listener; it never listens itself (see server.ts). */
export function createApp(options: AppOptions): RequestListener {
  const {store} = options.core
  const router = new Router().add(...routes(options.core))
  const clock = options.clock ?? systemClock
  // Processes that share a store count each caller's requests together, as Port counts per organisation.
  const limiter = options.rateLimit && new RateLimiter(options.rateLimit, store.shared)
  const sessions = new WebSessions(store, options.core.clock)
  /** The web view (pages, markdown), loaded on its first request: API-only use never loads it. */
  let web: Promise<WebView> | undefined
  const webView = () =>
    (web ??= import('./web/index.js').then(({createWebView}) =>
      createWebView({api: callRoute, clock, core: options.core, sessions}),
    ))

  return (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch((error: unknown) => {
      // A request refused before its body was read (unknown route, no token, too large) may still
      // be sending one: answer and close the connection rather than read what may be gigabytes.
      if (!request.complete) response.setHeader('connection', 'close')
      if (error instanceof PortalError) {
        if (error.status === 503) response.setHeader('retry-after', '1')
        send(response, error.status, {error: error.code, message: error.message, ok: false})
        return
      }
      if (error instanceof StoreUnavailableError) {
        response.setHeader('retry-after', '1')
        send(response, 503, {error: 'database_unavailable', message: error.message, ok: false})
        return
      }
      options.onError?.(error)
      send(response, 500, {error: 'internal_error', message: 'The portal failed to handle the request', ok: false})
    })
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = parseUrl(request.url)
    const method = request.method ?? 'GET'
    const found = router.match(method, url.pathname)
    /** Counts the request as its credential's, or as its address's when it has none. */
    const limit = async (clientId: string | undefined) =>
      limiter?.take(clientId ?? `address:${request.socket.remoteAddress}`, clock().getTime(), (name, value) =>
        response.setHeader(name, value),
      )
    // Paths no API route serves, outside /v1/, are the web view's pages: they count as their
    // signed-in member's requests (the API routes a page calls are part of its one request).
    if (!found && !url.pathname.startsWith('/v1/')) {
      if (limiter) await limit((await sessions.get(sessionId(request)))?.clientId)
      return (await webView())(request, response, url)
    }
    if (!found) throw new PortalError(404, 'not_found', `No route ${method} ${url.pathname}`)
    const {route, params} = found
    const principal: Principal = route.auth === 'public' ? {kind: 'anonymous'} : await authenticate(request)
    if (!route.unlimited) await limit(principal.kind === 'anonymous' ? undefined : principal.credential.clientId)
    authorize(route.auth, principal, {
      method,
      path: url.pathname,
      runId: params.run ?? url.searchParams.get('run_id'),
    })
    const body = await readJsonBody(request)
    const reply = await route.handler({
      body,
      caller: principal.kind === 'anonymous' ? ANONYMOUS : principal.credential,
      method,
      now: clock(),
      params,
      principal,
      query: url.searchParams,
    })
    send(response, reply.status, reply.body)
  }

  /**
   * One API route called from inside the portal as `principal` (the web view's signed-in member):
   * the same route table, access rule and handler as over HTTP, so the web view has no side door.
   */
  async function callRoute(
    principal: Principal,
    method: string,
    path: string,
    options: {query?: URLSearchParams; body?: unknown} = {},
  ): Promise<Record<string, unknown>> {
    const found = router.match(method, path)
    if (!found) throw new PortalError(404, 'not_found', `No route ${method} ${path}`)
    const {route, params} = found
    const query = options.query ?? new URLSearchParams()
    authorize(route.auth, principal, {method, path, runId: params.run ?? query.get('run_id')})
    const reply = await route.handler({
      body: options.body,
      caller: principal.kind === 'anonymous' ? ANONYMOUS : principal.credential,
      method,
      now: clock(),
      params,
      principal,
      query,
    })
    return plainBody(reply.body)
  }

  async function authenticate(request: IncomingMessage): Promise<Principal> {
    const header = request.headers.authorization ?? ''
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    const token = match ? (await options.core.tokens()).verify(match[1]!, clock().getTime()) : undefined
    // A revoked credential is gone, and with it every token it was issued (run tokens included).
    const credential = token ? await store.getCredential(token.clientId) : undefined
    if (!credential) {
      throw new PortalError(401, 'unauthorized', 'A valid access token is required (POST /v1/auth/access_token)')
    }
    if (!token?.runId) return {credential, kind: credential.role}
    if (token.actingFor !== undefined && credential.role === 'admin') {
      return {credential, kind: 'admin', onBehalfOf: {actor: token.actingFor, runId: token.runId}}
    }
    const run = await store.getRun(token.runId)
    if (!run || isFinal(run)) {
      throw new PortalError(401, 'unauthorized', `This token was for run ${token.runId}, which has ended`)
    }
    return {credential: {...credential, role: 'member'}, kind: 'run', runId: run.id}
  }
}

/** The web view's session cookie, if the request has one. */
function sessionId(request: IncomingMessage): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=')
    if (name === SESSION_COOKIE) return value.join('=')
  }
  return undefined
}

/**
 * The request's URL. A path with "." or ".." segments (raw or percent-encoded) or backslashes is
 * refused rather than normalised: no identifier is "." or "..", so such a path can only be an
 * attempt to reach another resource than the one it seems to name.
 */
function parseUrl(raw: string | undefined): URL {
  const path = (raw ?? '/').split(/[?#]/, 1)[0]!
  const dotted = path.split('/').some((segment) => /^(\.|%2e){1,2}$/i.test(segment))
  if (dotted || path.includes('\\')) {
    throw new PortalError(400, 'invalid_request', 'The request path has "." or ".." segments or backslashes')
  }
  try {
    return new URL(raw ?? '/', 'http://portal')
  } catch {
    throw new PortalError(400, 'invalid_request', 'The request URL could not be parsed')
  }
}
