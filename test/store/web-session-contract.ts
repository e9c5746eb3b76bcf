import {createHash} from 'node:crypto'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import type {Store} from '../../src/portal/store/store.js'
import {LINK_TTL_MS, SESSION_TTL_MS, WebSessions} from '../../src/portal/web/sessions.js'

/**
 * The web view's sign-in links and sessions in the store, as every store must keep them: what
 * several portal processes on one database, or one restarted process, rely on.
 */
export interface Opened {
  store: Store
  /** The same data through a new store, as another process (or a restart) sees it. */
  other: () => Promise<Store>
  /** Every row of a table, as the database holds it. */
  rows: (table: string) => Promise<Record<string, unknown>[]>
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex')
const T0 = Date.parse('2026-05-01T10:00:00Z')

export function webSessionContract(name: string, open: () => Promise<Opened>) {
  describe(`${name}: web sessions in the store`, () => {
    let opened: Opened
    let now: number
    const clock = () => new Date(now)
    const stores: Store[] = []
    const credential = (clientId: string) =>
      opened.store.transaction(() =>
        opened.store.createCredential({clientId, clientSecret: 's', createdAt: '2026-05-01', role: 'member'}),
      )
    beforeEach(async () => {
      now = T0
      opened = await open()
      stores.push(opened.store)
      await credential('alice')
    })
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close()
    })
    const another = async () => {
      const store = await opened.other()
      stores.push(store)
      return new WebSessions(store, clock)
    }

    it('keeps only SHA-256 hashes of the tokens; another store on the data finds the session, with the same CSRF token', async () => {
      const sessions = new WebSessions(opened.store, clock)
      const {code} = await sessions.link('alice')
      const session = (await sessions.redeem(code))!
      expect(session).toMatchObject({clientId: 'alice', expiresAt: T0 + SESSION_TTL_MS})
      const stored = JSON.stringify([await opened.rows('web_links'), await opened.rows('web_sessions')])
      expect(stored).not.toContain(code)
      expect(stored).not.toContain(session.token)
      expect(stored).not.toContain(session.csrf)
      expect(await opened.rows('web_sessions')).toMatchObject([{client_id: 'alice', token_hash: hash(session.token)}])

      const elsewhere = await another()
      expect(await elsewhere.get(session.token)).toEqual(session)
      const second = await elsewhere.open('alice')
      expect(second.csrf).not.toBe(session.csrf)
    })

    it('a link signs in once, however many redeem it at once or later elsewhere, and only within 2 minutes', async () => {
      const sessions = new WebSessions(opened.store, clock)
      const elsewhere = await another()
      const {code} = await sessions.link('alice')
      // (Processes racing on one PostgreSQL database: test/e2e/postgres-web.test.ts.)
      const raced = await Promise.all([sessions.redeem(code), sessions.redeem(code), sessions.redeem(code)])
      expect(raced.filter(Boolean)).toHaveLength(1)
      expect(await elsewhere.redeem(code)).toBeUndefined()

      const late = await sessions.link('alice')
      now += LINK_TTL_MS
      expect(await elsewhere.redeem(late.code)).toBeUndefined()
      expect(await opened.rows('web_links')).toEqual([])
    })

    it('a session ends after 8 hours, when it is closed, or when its credential is deleted', async () => {
      const sessions = new WebSessions(opened.store, clock)
      const elsewhere = await another()
      const expiring = await sessions.open('alice')
      const closed = await sessions.open('alice')
      now += SESSION_TTL_MS - 1
      expect(await elsewhere.get(expiring.token)).toBeDefined()
      await elsewhere.close(closed.token)
      expect(await sessions.get(closed.token)).toBeUndefined()
      now += 1
      expect(await elsewhere.get(expiring.token)).toBeUndefined()

      const revoked = await sessions.open('alice')
      await sessions.link('alice')
      await opened.store.transaction(() => opened.store.deleteCredential('alice'))
      expect(await elsewhere.get(revoked.token)).toBeUndefined()
      expect([...(await opened.rows('web_links')), ...(await opened.rows('web_sessions'))]).toEqual([])
      expect(await sessions.get(undefined)).toBeUndefined()
      expect(await sessions.get('not-a-session')).toBeUndefined()
    })

    it('stores nothing for a credential that is gone, and new sign-ins prune what has expired', async () => {
      const sessions = new WebSessions(opened.store, clock)
      const gone = await sessions.open('bob')
      expect(await sessions.get(gone.token)).toBeUndefined()
      await sessions.link('bob')
      expect(await opened.rows('web_links')).toEqual([])

      await sessions.link('alice')
      await sessions.open('alice')
      now += SESSION_TTL_MS
      const fresh = await sessions.open('alice')
      expect(await opened.rows('web_links')).toEqual([])
      expect(await opened.rows('web_sessions')).toMatchObject([{token_hash: hash(fresh.token)}])
    })
  })
}
