import type {IncomingMessage, RequestListener, ServerResponse} from 'node:http'

import type {PortalCore} from './core.js'
import {PortalError, readJsonBody, Router, send} from './http.js'
import {routes} from './routes.js'
import {isFinal} from './runs-service.js'

export interface AppOptions {
  core: PortalCore
  now?: () => Date
  /** Called with each unexpected (500) error. */
  onError?: (error: unknown) => void
}

/** Builds the portal's request listener; it never listens itself (see server.ts). */
export function createApp(options: AppOptions): RequestListener {
  const {store} = options.core
  const router = new Router().add(...routes(options.core))
  const now = options.now ?? (() => new Date())

  return (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch((error: unknown) => {
      if (error instanceof PortalError) {
        // A body over the limit may still be arriving: answer, then close instead of reading it.
        if (error.status === 413) response.setHeader('connection', 'close')
        send(response, error.status, {error: error.code, message: error.message, ok: false})
        if (error.status === 413) request.resume()
        return
      }
      options.onError?.(error)
      send(response, 500, {error: 'internal_error', message: 'The portal failed to handle the request', ok: false})
    })
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://portal')
    const method = request.method ?? 'GET'
    const found = router.match(method, url.pathname)
    if (!found) {
      request.resume()
      throw new PortalError(404, 'not_found', `No route ${method} ${url.pathname}`)
    }
    const caller = found.route.public ? undefined : await authenticate(request)
    if (found.route.adminOnly && caller?.role !== 'admin') {
      request.resume()
      throw new PortalError(
        403,
        'forbidden',
        `Only admin credentials may ${method} ${url.pathname}; this is a member credential`,
      )
    }
    const body = await readJsonBody(request)
    const reply = await found.route.handler({
      body,
      caller: caller ?? {clientId: 'anonymous', clientSecret: '', createdAt: '', role: 'member'},
      method,
      now: now(),
      params: found.params,
      query: url.searchParams,
    })
    send(response, reply.status, reply.body)
  }

  async function authenticate(request: IncomingMessage) {
    const header = request.headers.authorization ?? ''
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    const token = match ? await store.getToken(match[1]!) : undefined
    const credential =
      token && token.expiresAt > now().getTime() ? await store.getCredential(token.clientId) : undefined
    if (!credential) {
      request.resume()
      throw new PortalError(401, 'unauthorized', 'A valid access token is required (POST /v1/auth/access_token)')
    }
    if (!token?.runId) return credential
    const run = await store.getRun(token.runId)
    if (!run || isFinal(run)) {
      request.resume()
      throw new PortalError(401, 'unauthorized', `This token was for run ${token.runId}, which has ended`)
    }
    return {...credential, role: 'member' as const}
  }
}
