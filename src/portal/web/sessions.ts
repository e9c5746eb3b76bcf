import {randomBytes} from 'node:crypto'

import type {Clock} from '../../shared/when.js'

/** How long a one-time sign-in link may wait to be opened. */
export const LINK_TTL_MS = 2 * 60_000
/** How long a browser session lasts, however active (it also ends with its credential). */
export const SESSION_TTL_MS = 8 * 3600_000

export const SESSION_COOKIE = 'idp_session'

export interface WebSession {
  id: string
  clientId: string
  /** Sent back with every state-changing request (forms' `_csrf`, scripts' `x-csrf-token`). */
  csrf: string
  expiresAt: number
}

const secret = () => randomBytes(32).toString('base64url')

const perPortal = new WeakMap<object, WebSessions>()

/** The one set of links and sessions of a portal (its API route issues links, its pages redeem them). */
export function sessionsOf(core: {clock: () => Date}): WebSessions {
  if (!perPortal.has(core)) perPortal.set(core, new WebSessions(core.clock))
  return perPortal.get(core)!
}

/**
 * The web view's sign-in links and browser sessions, kept in memory: a restart signs every
 * browser out, and nothing a browser holds is a credential for the API.
 */
export class WebSessions {
  private readonly links = new Map<string, {clientId: string; expiresAt: number}>()
  private readonly sessions = new Map<string, WebSession>()

  constructor(private readonly clock: Clock) {}

  /** A one-time code that signs a browser in as `clientId`. */
  link(clientId: string): {code: string; expiresAt: number} {
    this.sweep()
    const code = secret()
    const expiresAt = this.clock().getTime() + LINK_TTL_MS
    this.links.set(code, {clientId, expiresAt})
    return {code, expiresAt}
  }

  /** Uses up a link's code: the session it opens, or undefined when it is unknown, used or expired. */
  redeem(code: string): WebSession | undefined {
    const link = this.links.get(code)
    this.links.delete(code)
    if (!link || link.expiresAt <= this.clock().getTime()) return undefined
    return this.open(link.clientId)
  }

  open(clientId: string): WebSession {
    this.sweep()
    const session = {clientId, csrf: secret(), expiresAt: this.clock().getTime() + SESSION_TTL_MS, id: secret()}
    this.sessions.set(session.id, session)
    return session
  }

  get(id: string | undefined): WebSession | undefined {
    const session = id === undefined ? undefined : this.sessions.get(id)
    if (!session) return undefined
    if (session.expiresAt > this.clock().getTime()) return session
    this.sessions.delete(session.id)
    return undefined
  }

  close(id: string): void {
    this.sessions.delete(id)
  }

  /** Forgets expired links and sessions, so that neither map grows without bound. */
  private sweep(): void {
    const now = this.clock().getTime()
    for (const [code, link] of this.links) if (link.expiresAt <= now) this.links.delete(code)
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id)
  }
}

/** A session cookie: script cannot read it, and no other site's page or form sends it. */
export const sessionCookie = (session: WebSession | undefined, now: Date) =>
  session
    ? `${SESSION_COOKIE}=${session.id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor((session.expiresAt - now.getTime()) / 1000)}`
    : `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`
