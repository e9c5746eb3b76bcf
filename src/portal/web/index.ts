import {readFileSync} from 'node:fs'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {timingSafeEqual} from 'node:crypto'

import type {Principal} from '../auth/access.js'
import type {PortalCore} from '../core.js'
import {MAX_BODY_BYTES} from '../http/body.js'
import {PortalError} from '../http/errors.js'
import type {CallRoute, WebContext, WebRoute} from './context.js'
import type {Clock} from '../../shared/when.js'
import {html} from './html.js'
import {page} from './layout.js'
import {authPages} from './pages/auth.js'
import {catalogPages} from './pages/catalog.js'
import {entityPages} from './pages/entity.js'
import {graphPages} from './pages/graph.js'
import {runPages} from './pages/runs.js'
import {selfServicePages} from './pages/self-service.js'
import {SESSION_COOKIE, type WebSession, type WebSessions} from './sessions.js'

export type WebView = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<void>

export interface WebViewOptions {
  api: CallRoute
  core: PortalCore
  clock: Clock
  sessions: WebSessions
}

/** Sent with every page: no inline script or style, no framing, nothing from elsewhere. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
}

const ASSETS: Record<string, string> = {
  'app.css': 'text/css; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
}
const assetText = new Map<string, Buffer>()
const asset = (name: string) => {
  if (!assetText.has(name)) assetText.set(name, readFileSync(new URL(`./assets/${name}`, import.meta.url)))
  return assetText.get(name)!
}

export function createWebView(options: WebViewOptions): WebView {
  const {sessions} = options
  const routes: WebRoute[] = [
    {
      handler: async () => ({redirect: '/catalog'}),
      method: 'GET',
      pattern: '/',
      who: 'anyone',
    },
    ...authPages(sessions, options.api),
    ...catalogPages(),
    ...entityPages(),
    ...selfServicePages(),
    ...runPages(),
    ...graphPages(),
  ]
  const compiled = routes.map((route) => {
    const names: string[] = []
    const source = route.pattern.replaceAll(/:(\w+)/g, (_match, name: string) => {
      names.push(name)
      return '([^/]+)'
    })
    return {names, regex: new RegExp(`^${source}$`), route}
  })

  return async (request, response, url) => {
    const send = (status: number, headers: Record<string, string | number>, body: Buffer | string) => {
      response.writeHead(status, {...SECURITY_HEADERS, 'cache-control': 'no-store', ...headers})
      response.end(body)
    }
    const method = request.method ?? 'GET'
    const assetName = /^\/assets\/([\w.-]+)$/.exec(url.pathname)?.[1]
    if (method === 'GET' && assetName && ASSETS[assetName]) {
      send(200, {'cache-control': 'no-cache', 'content-type': ASSETS[assetName]}, asset(assetName))
      return
    }
    let context: WebContext | undefined
    // Asked for by a page's script, which reads errors as JSON.
    let script = false
    try {
      const {route, params} = match(method, url.pathname)
      script = route.script === true
      // Read afresh on every request, so that signing out or a revocation on any process ends it here.
      const session = await sessions.get(cookie(request, SESSION_COOKIE))
      const credential = session ? await options.core.store.getCredential(session.clientId) : undefined
      const live = credential ? session : undefined
      const form = method === 'POST' ? await readForm(request, route.maxBytes) : new URLSearchParams()
      if (method === 'POST') checkOrigin(request)
      if (route.who === 'signed-in' && !live) {
        if (method === 'GET' && !script) {
          send(303, {location: `/sign-in?next=${encodeURIComponent(url.pathname + url.search)}`}, '')
          return
        }
        throw new PortalError(401, 'unauthorized', 'Sign in first: your session has ended')
      }
      if (method === 'POST' && live) checkCsrf(live, form.get('_csrf') ?? request.headers['x-csrf-token'])
      const principal: Principal = credential ? {credential, kind: credential.role} : {kind: 'anonymous'}
      context = {
        api: async <T>(
          verb: string,
          path: string,
          call: {query?: URLSearchParams | Record<string, string>; body?: unknown} = {},
        ) =>
          (await options.api(principal, verb, path, {
            body: call.body,
            query: new URLSearchParams(call.query),
          })) as T,
        core: options.core,
        form,
        now: options.clock(),
        params,
        role: credential?.role ?? '',
        session: live,
        url,
      }
      const reply = await route.handler(context)
      // Behind a TLS-terminating proxy the browser speaks https: the cookie must then say Secure.
      const secure = request.headers['x-forwarded-proto'] === 'https' ? '; Secure' : ''
      const headers: Record<string, string> = reply.cookie ? {'set-cookie': reply.cookie + secure} : {}
      if (reply.redirect) send(303, {...headers, location: reply.redirect}, '')
      else if (reply.json !== undefined)
        send(reply.status ?? 200, {...headers, 'content-type': 'application/json'}, JSON.stringify(reply.json))
      else send(reply.status ?? 200, {...headers, 'content-type': 'text/html; charset=utf-8'}, String(reply.html))
    } catch (error) {
      if (!(error instanceof PortalError)) throw error
      if (script) {
        send(
          error.status,
          {'content-type': 'application/json'},
          JSON.stringify({error: error.code, message: error.message}),
        )
        return
      }
      const body = html`<p class="error" role="alert">${error.message}</p>
        <p><a href="/catalog">Back to the catalog</a></p>`
      send(
        error.status,
        {'content-type': 'text/html; charset=utf-8'},
        String(page(context, titleOf(error.status), body)),
      )
    }
  }

  function match(method: string, pathname: string) {
    for (const {names, regex, route} of compiled) {
      if (route.method !== method) continue
      const found = regex.exec(pathname)
      if (!found) continue
      const params: Record<string, string> = {}
      for (const [index, name] of names.entries()) {
        try {
          params[name] = decodeURIComponent(found[index + 1]!)
        } catch {
          throw new PortalError(400, 'invalid_request', 'The address is not valid percent-encoding')
        }
      }
      return {params, route}
    }
    throw new PortalError(404, 'not_found', `There is no page at ${pathname}`)
  }
}

const titleOf = (status: number) =>
  ({400: 'Bad request', 401: 'Signed out', 403: 'Not allowed', 404: 'Not found', 409: 'Conflict', 422: 'Not accepted'})[
    status
  ] ?? 'Something went wrong'

function cookie(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=')
    if (key === name) return value.join('=')
  }
  return undefined
}

/**
 * Writes come from this portal's own pages only. A browser names the page's origin on a POST (http,
 * or https behind a TLS-terminating proxy, on the same host), or
 * (as Referrer-Policy no-referrer asks) says "null" and tells where the request came from in
 * Sec-Fetch-Site; anything else is refused before the session's token is even looked at.
 */
function checkOrigin(request: IncomingMessage): void {
  const origin = request.headers.origin
  const sameOrigin =
    origin === `http://${request.headers.host}` ||
    origin === `https://${request.headers.host}` ||
    ((origin === undefined || origin === 'null') && request.headers['sec-fetch-site'] === 'same-origin')
  if (!sameOrigin) {
    throw new PortalError(403, 'forbidden', 'This request did not come from one of the portal’s own pages')
  }
}

function checkCsrf(session: WebSession, given: string | string[] | undefined): void {
  const expected = Buffer.from(session.csrf)
  const actual = Buffer.from(typeof given === 'string' ? given : '')
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw new PortalError(403, 'forbidden', 'The form’s security token is missing or out of date; reload the page')
  }
}

async function readForm(request: IncomingMessage, limit = MAX_BODY_BYTES): Promise<URLSearchParams> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) {
      throw new PortalError(413, 'request_too_large', `The form is too large (limit is ${limit / 1024} KiB)`)
    }
    chunks.push(chunk)
  }
  const type = request.headers['content-type'] ?? ''
  if (size > 0 && !type.startsWith('application/x-www-form-urlencoded')) {
    throw new PortalError(415, 'unsupported_media_type', 'Forms are sent as application/x-www-form-urlencoded')
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}
