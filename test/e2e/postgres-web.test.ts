import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {browserTestsNeedChromium, chromiumAvailable, launchChromium} from '../helpers/chromium.js'
import type {ServedPortal} from '../helpers/e2e.js'
import {accessToken} from '../helpers/http.js'
import {dropDatabases, freshDatabase, postgresServer} from '../helpers/postgres.js'
import {serve} from '../helpers/postgres-portal.js'
import {webClient, webSession} from '../helpers/web.js'
import {caller, type Caller} from '../security/helpers.js'

// The web view of a team portal: two `idp portal serve` processes on one PostgreSQL, as behind a
// load balancer without sticky sessions. A browser's session is the database's, not a process's.

const server = await postgresServer()

/** Opens a one-time link's path on a portal, as a browser would: its answer, not its redirect. */
const openLink = (portal: ServedPortal, path: string) => fetch(portal.url + path, {redirect: 'manual'})

browserTestsNeedChromium(1, 'the web view on two PostgreSQL portal processes')

describe.skipIf(!server)('PostgreSQL: the web view on two portal processes', () => {
  let a: ServedPortal
  let b: ServedPortal
  let admin: Caller
  beforeAll(async () => {
    const url = await freshDatabase(server!)
    // One after the other, so that A makes the admin and saves it as its profile.
    a = await serve(url)
    b = await serve(url)
    admin = caller(a.url, await a.token())
    const job = {
      identifier: 'job',
      invocationMethod: {type: 'KAFKA'},
      title: 'Job',
      trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
    }
    expect((await admin.call('POST', '/v1/actions', job)).status).toBe(201)
  }, 60_000)
  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()])
    await dropDatabases(server!)
  })

  /** A member credential of its own, calling the API on A. */
  const member = async (): Promise<Caller & {clientId: string}> => {
    const {body} = await admin.call('POST', '/v1/idp/credentials', {role: 'member'})
    const {clientId, clientSecret} = body.credential as {clientId: string; clientSecret: string}
    return {clientId, ...caller(a.url, await accessToken(a.url, {clientId, clientSecret}))}
  }

  it('a session opened on A works on B, pages and a form with its CSRF token; signing out on B ends it on A', async () => {
    const onA = await webSession(a.url, await member())
    const onB = webClient(b.url, onA.cookie)
    for (const path of ['/catalog', '/self-service', '/runs']) expect((await onB.get(path)).status, path).toBe(200)
    const csrf = await onA.csrf()
    expect(await onB.csrf()).toBe(csrf)

    const submitted = await onB.post('/actions/job/run', {})
    expect(submitted.status).toBe(303)
    const runPath = submitted.headers.get('location')!
    expect(runPath).toMatch(/^\/runs\/r_/)
    const {body} = await admin.call('GET', `/v1/actions/runs/${runPath.split('/').at(-1)}`)
    expect(body.run.action.identifier).toBe('job')
    expect((await onA.get(runPath)).status).toBe(200)

    expect((await onB.post('/sign-out', {})).status).toBe(303)
    const refused = await onA.get('/catalog')
    expect([refused.status, refused.headers.get('location')]).toEqual([303, '/sign-in?next=%2Fcatalog'])
    expect((await onA.post('/actions/job/run', {}, {csrf})).status).toBe(401)
  })

  it('revoking the credential on A ends its session on B at its next request', async () => {
    const who = await member()
    const onB = webClient(b.url, (await webSession(a.url, who)).cookie)
    const csrf = await onB.csrf()
    expect((await onB.get('/catalog')).status).toBe(200)
    expect((await admin.call('DELETE', `/v1/idp/credentials/${who.clientId}`)).status).toBe(200)
    expect((await onB.get('/catalog')).status).toBe(303)
    expect((await onB.post('/actions/job/run', {}, {csrf})).status).toBe(401)
  })

  it('a link signs in once on either process: two racing on it open one session, and one used on A is refused on B', async () => {
    const who = await member()
    for (let round = 0; round < 3; round++) {
      const {path} = (await who.call('POST', '/v1/idp/web-links')).body as {path: string}
      const answers = await Promise.all([a, b, a, b].map((portal) => openLink(portal, path)))
      expect(answers.map((answer) => answer.status).sort()).toEqual([303, 401, 401, 401])
      expect(answers.filter((answer) => answer.headers.get('set-cookie'))).toHaveLength(1)
    }
    // Whichever process minted it, either may take it, once.
    const orders = [
      [a, b],
      [b, a],
    ] as const
    for (const [first, then] of orders) {
      const {path} = (await who.call('POST', '/v1/idp/web-links')).body as {path: string}
      expect((await openLink(first, path)).status).toBe(303)
      expect((await openLink(then, path)).status).toBe(401)
    }
  })

  it.runIf(chromiumAvailable)(
    'in Chromium: signed in by a link on A, the browser runs an action on B and signs out there; A then refuses the cookie',
    async () => {
      const browser = await launchChromium()
      try {
        const page = await browser.newPage()
        const who = await member()
        const {path} = (await who.call('POST', '/v1/idp/web-links')).body as {path: string}
        await page.goto(a.url + path)
        expect(new URL(page.url()).pathname).toBe('/catalog')
        // A cookie belongs to a host, whatever its port: the browser sends A's cookie to B too.
        const [cookie] = await browser.cookies()
        await page.goto(`${b.url}/actions/job/run`)
        await Promise.all([page.waitForNavigation(), page.click('form.form button[type=submit]')])
        const ran = new URL(page.url())
        expect([ran.origin, ran.pathname]).toEqual([b.url, expect.stringMatching(/^\/runs\/r_/)])
        await Promise.all([page.waitForNavigation(), page.click('form.who button')])
        expect(new URL(page.url()).pathname).toBe('/sign-in')
        const old = webClient(a.url, `${cookie!.name}=${cookie!.value}`)
        expect((await old.get('/catalog')).status).toBe(303)
      } finally {
        await browser.close()
      }
    },
    60_000,
  )
})
