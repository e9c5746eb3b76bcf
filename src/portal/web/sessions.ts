import {createHash, createHmac, randomBytes} from 'node:crypto'

import type {Store, WebSessionStore} from '../store/store.js'
import type {Clock} from '../../shared/when.js'

/** How long a one-time sign-in link may wait to be opened. */
export const LINK_TTL_MS = 2 * 60_000
/** How long a browser session lasts, however active (it also ends with its credential). */
export const SESSION_TTL_MS = 8 * 3600_000

export const SESSION_COOKIE = 'idp_session'

export interface WebSession {
  /** The cookie's value; the store keeps only its hash. */
  token: string
  clientId: string
  /** Sent back with every state-changing request (forms' `_csrf`, scripts' `x-csrf-token`). */
  csrf: string
  expiresAt: number
}

const secret = () => randomBytes(32).toString('base64url')
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex')

/**
 * A session's CSRF token, derived from its cookie's token: each process finds the same one without
 * storing it, and neither the page nor the database that hold one can give the other.
 */
const csrfOf = (token: string) => createHmac('sha256', token).update('idp web csrf').digest('base64url')

/**
 * The web view's sign-in links and browser sessions, kept in the portal's store: every process on
 * the store honours them, a restart keeps them, and each request reads its session afresh, so
 * signing out or revoking the credential on any process ends it on all of them at once. The store
 * holds SHA-256 hashes of the tokens, and nothing a browser holds is a credential for the API.
 */
export class WebSessions {
  constructor(
    private readonly store: WebSessionStore & Pick<Store, 'transaction'>,
    private readonly clock: Clock,
  ) {}

  /** A one-time code that signs a browser in as `clientId`. */
  async link(clientId: string): Promise<{code: string; expiresAt: number}> {
    const code = secret()
    const now = this.clock().getTime()
    const expiresAt = now + LINK_TTL_MS
    await this.store.transaction(async () => {
      await this.store.pruneWebSessions(now)
      await this.store.putWebLink({clientId, expiresAt, tokenHash: hashOf(code)})
    })
    return {code, expiresAt}
  }

  /** Uses up a link's code: the session it opens, or undefined when it is unknown, used or expired. */
  async redeem(code: string): Promise<WebSession | undefined> {
    return this.store.transaction(async () => {
      const clientId = await this.store.takeWebLink(hashOf(code), this.clock().getTime())
      return clientId === undefined ? undefined : this.start(clientId)
    })
  }

  async open(clientId: string): Promise<WebSession> {
    return this.store.transaction(() => this.start(clientId))
  }

  async get(token: string | undefined): Promise<WebSession | undefined> {
    if (!token) return undefined
    const row = await this.store.getWebSession(hashOf(token), this.clock().getTime())
    return row && {clientId: row.clientId, csrf: csrfOf(token), expiresAt: row.expiresAt, token}
  }

  async close(token: string): Promise<void> {
    await this.store.transaction(() => this.store.deleteWebSession(hashOf(token)))
  }

  /** Inside a transaction: a new session, after dropping expired links and sessions (an index range). */
  private async start(clientId: string): Promise<WebSession> {
    const now = this.clock().getTime()
    const token = secret()
    const expiresAt = now + SESSION_TTL_MS
    await this.store.pruneWebSessions(now)
    await this.store.putWebSession({clientId, expiresAt, tokenHash: hashOf(token)})
    return {clientId, csrf: csrfOf(token), expiresAt, token}
  }
}

/** A session cookie: script cannot read it, and no other site's page or form sends it. */
export const sessionCookie = (session: WebSession | undefined, now: Date) =>
  session
    ? `${SESSION_COOKIE}=${session.token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor((session.expiresAt - now.getTime()) / 1000)}`
    : `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`
