import type {Principal} from '../auth/access.js'
import type {PortalCore} from '../core.js'
import type {WebSession} from './sessions.js'

/** Calls one API route as a principal (app.ts): the web view reads and writes only through it. */
export type CallRoute = (
  principal: Principal,
  method: string,
  path: string,
  options?: {query?: URLSearchParams; body?: unknown},
) => Promise<Record<string, unknown>>

/** What a web page handler gets. */
export interface WebContext {
  url: URL
  params: Record<string, string>
  /** A POST's form fields. */
  form: URLSearchParams
  now: Date
  session: WebSession | undefined
  role: string
  /** The API as the signed-in credential. */
  api: <T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: {query?: URLSearchParams | Record<string, string>; body?: unknown},
  ) => Promise<T>
  core: PortalCore
}

export interface WebReply {
  status?: number
  html?: {toString(): string}
  redirect?: string
  json?: unknown
  cookie?: string
}

/**
 * Who may call a web route, declared beside it: `anyone` (sign-in, assets), or `signed-in` (a
 * browser session). What a signed-in page shows or changes it reads and writes through the API's
 * routes as the session's credential (CallRoute), so each page obeys that route's access rule.
 */
export type WebAccess = 'anyone' | 'signed-in'

export interface WebRoute {
  method: 'GET' | 'POST'
  pattern: string
  who: WebAccess
  handler: (context: WebContext) => Promise<WebReply>
  /** A page's script calls it: errors are JSON, and a missing session is a 401, not a redirect. */
  script?: true
  /** The largest form it reads (the API's body limit unless smaller). */
  maxBytes?: number
}
