import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {webClient, webSession} from '../helpers/web.js'
import {caller, login, startRolesPortal, type RolesPortal} from './helpers.js'

// The web view's defences, checked over HTTP (the browser tests in test/web/ see them render).
let portal: RolesPortal

const HOSTILE = {
  identifier: 'hostile',
  properties: {
    notes: '<img src=x onerror="alert(1)"> **bold** [click](javascript:alert(2)) <script>alert(3)</script>',
    site: 'javascript:alert(4)',
    tags: ['<b>tag</b>'],
  },
  title: '<script>alert(5)</script>',
}

beforeAll(async () => {
  portal = await startRolesPortal()
  await portal.asAdmin.call('POST', '/v1/blueprints', {
    identifier: 'svc',
    schema: {
      properties: {
        notes: {format: 'markdown', type: 'string'},
        site: {type: 'string'},
        tags: {items: {type: 'string'}, type: 'array'},
      },
    },
    title: 'Service',
  })
  await portal.member.call('POST', '/v1/blueprints/svc/entities', HOSTILE)
})
afterAll(() => portal.stop())

describe('web view', () => {
  it('sends CSP with no inline script, no framing, nosniff and no referrer on every page', async () => {
    const web = await webSession(portal.url, portal.member)
    for (const path of ['/sign-in', '/catalog', '/blueprints/svc', '/entities/svc/hostile', '/nope']) {
      const {headers} = await (path === '/sign-in' ? fetch(portal.url + path) : web.get(path))
      const csp = headers.get('content-security-policy') ?? ''
      expect(csp, path).toContain("script-src 'self';")
      expect(csp).toContain("frame-ancestors 'none'")
      expect(csp).toContain("object-src 'none'")
      expect(csp).not.toContain('unsafe-inline')
      expect(headers.get('x-content-type-options')).toBe('nosniff')
      expect(headers.get('referrer-policy')).toBe('no-referrer')
    }
  })

  it('keeps member content as text: no script, no event handler, no javascript: link', async () => {
    const web = await webSession(portal.url, portal.member)
    for (const path of ['/entities/svc/hostile', '/blueprints/svc']) {
      const {status, text} = await web.get(path)
      expect(status).toBe(200)
      expect(text).not.toMatch(/<script>alert/i)
      expect(text).not.toMatch(/<img/i)
      expect(text).not.toMatch(/<b>tag/i)
      expect(text).not.toMatch(/href="javascript:/i)
      expect(text).not.toMatch(/<script(?! src="\/assets\/app\.js")/i)
    }
    const {text} = await web.get('/entities/svc/hostile')
    expect(text).toContain('&lt;script&gt;alert(5)&lt;/script&gt;')
    expect(text).toContain('<strong>bold</strong>')
  })

  it('signs in once per link; the cookie is HttpOnly and SameSite=Strict', async () => {
    const {body} = await portal.member.call('POST', '/v1/idp/web-links')
    const first = await fetch(portal.url + body.path, {redirect: 'manual'})
    expect(first.status).toBe(303)
    expect(first.headers.get('set-cookie')).toMatch(/^idp_session=[\w-]{40,}; HttpOnly; SameSite=Strict; Path=\//)
    const again = await fetch(portal.url + body.path, {redirect: 'manual'})
    expect(again.status).toBe(401)
    expect(again.headers.get('set-cookie')).toBeNull()
  })

  it('behind a TLS-terminating proxy, the cookie is Secure and the https origin of the same host is the page’s own', async () => {
    const {body} = await portal.member.call('POST', '/v1/idp/web-links')
    const signedIn = await fetch(portal.url + body.path, {headers: {'x-forwarded-proto': 'https'}, redirect: 'manual'})
    expect(signedIn.headers.get('set-cookie')).toMatch(/; Secure$/)
    const web = await webSession(portal.url, portal.member)
    const https = portal.url.replace('http:', 'https:')
    expect((await web.post('/sign-out', {}, {origin: https.replace('127.0.0.1', 'localhost')})).status).toBe(403)
    expect((await web.post('/sign-out', {}, {origin: https})).status).toBe(303)
  })

  it('sends a browser without a session to sign in, and never to another site afterwards', async () => {
    const page = await fetch(`${portal.url}/catalog`, {redirect: 'manual'})
    expect(page.status).toBe(303)
    expect(page.headers.get('location')).toBe('/sign-in?next=%2Fcatalog')
    const form = await fetch(`${portal.url}/sign-in`, {
      body: new URLSearchParams({
        clientId: portal.admin.clientId,
        clientSecret: portal.admin.clientSecret,
        next: '//evil.example/',
      }),
      headers: {'content-type': 'application/x-www-form-urlencoded', origin: portal.url},
      method: 'POST',
      redirect: 'manual',
    })
    expect(form.status).toBe(303)
    expect(form.headers.get('location')).toBe('/catalog')
    const wrong = await fetch(`${portal.url}/sign-in`, {
      body: new URLSearchParams({clientId: portal.admin.clientId, clientSecret: 'wrong'}),
      headers: {'content-type': 'application/x-www-form-urlencoded', origin: portal.url},
      method: 'POST',
      redirect: 'manual',
    })
    expect(wrong.status).toBe(401)
    expect(await wrong.text()).not.toContain('wrong')
  })

  it('refuses a state-changing request without the session’s token or from another origin', async () => {
    const web = await webSession(portal.url, portal.member)
    expect((await web.post('/sign-out', {}, {origin: null})).status).toBe(403)
    expect((await web.post('/sign-out', {}, {origin: 'http://evil.example'})).status).toBe(403)
    expect((await web.post('/sign-out', {}, {csrf: null})).status).toBe(403)
    expect((await web.post('/sign-out', {}, {csrf: 'x'.repeat(43)})).status).toBe(403)
    expect((await web.get('/catalog')).status).toBe(200)
    const out = await web.post('/sign-out', {})
    expect(out.status).toBe(303)
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0')
    expect((await web.get('/catalog')).status).toBe(303)
  })

  it('ends a session when its credential is revoked', async () => {
    const made = await portal.core.write(() =>
      portal.core.credentials.create({email: 'temp@example.com', role: 'member', teams: []}),
    )
    const temp = caller(portal.url, await login(portal.url, made.clientId, made.clientSecret))
    const web = await webSession(portal.url, temp)
    expect((await web.get('/catalog')).status).toBe(200)
    await portal.core.write(() => portal.core.credentials.revoke(made.clientId))
    expect((await web.get('/catalog')).status).toBe(303)
    expect((await webClient(portal.url, web.cookie).get('/runs')).status).toBe(303)
  })

  it('shows a member only what the API shows it: another’s hidden run is not found, approving is refused', async () => {
    await portal.asAdmin.call('POST', '/v1/actions', {
      allowAnyoneToViewRuns: false,
      identifier: 'private',
      invocationMethod: {type: 'KAFKA'},
      requiredApproval: true,
      trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
    })
    const {body} = await portal.asAdmin.call('POST', '/v1/actions/private/runs', {properties: {}})
    const web = await webSession(portal.url, portal.member)
    const page = await web.get(`/runs/${body.run.id}`)
    expect(page.status).toBe(404)
    const approve = await web.post(`/runs/${body.run.id}/approval`, {status: 'APPROVE'})
    expect(approve.status).toBe(403)
    expect((await portal.asAdmin.call('GET', `/v1/actions/runs/${body.run.id}`)).body.run.status).toBe(
      'WAITING_FOR_APPROVAL',
    )
  })
})

describe('the routes an action form’s script calls', () => {
  beforeAll(async () => {
    await portal.asAdmin.call('POST', '/v1/actions', {
      identifier: 'pick_svc',
      invocationMethod: {type: 'KAFKA'},
      trigger: {
        operation: 'CREATE',
        type: 'self-service',
        userInputs: {
          properties: {
            mode: {type: 'string'},
            reason: {type: 'string', visible: {jqQuery: '.form.mode == "manual"'}},
            svc: {blueprint: 'svc', format: 'entity', type: 'string'},
            token: {default: 'not-for-the-page', encryption: 'aes256-gcm', type: 'string'},
          },
        },
      },
    })
  })

  const json = async (response: {status: number; text: string; headers: Headers}) => {
    expect(response.headers.get('content-type')).toBe('application/json')
    return JSON.parse(response.text)
  }

  it('refuse a browser without a session, without the session’s token, or from another origin', async () => {
    for (const route of ['form-state', 'choices']) {
      const anonymous = await fetch(`${portal.url}/actions/pick_svc/${route}`, {
        body: 'input=svc&q=host',
        headers: {'content-type': 'application/x-www-form-urlencoded', origin: portal.url},
        method: 'POST',
        redirect: 'manual',
      })
      expect(anonymous.status, route).toBe(401)
      expect(await anonymous.json()).toMatchObject({error: 'unauthorized'})
      const web = await webSession(portal.url, portal.member)
      const fields = {input: 'svc', q: 'host'}
      expect((await web.post(`/actions/pick_svc/${route}`, fields, {csrf: null})).status).toBe(403)
      expect((await web.post(`/actions/pick_svc/${route}`, fields, {origin: 'http://evil.example'})).status).toBe(403)
      const tooLarge = await web.post(`/actions/pick_svc/${route}`, {...fields, 'in.mode': 'x'.repeat(70_000)})
      expect(tooLarge.status).toBe(413)
      expect(await json(tooLarge)).toMatchObject({error: 'request_too_large'})
    }
    // As a run page's log does: a script is told 401, not sent to sign in.
    const live = await fetch(`${portal.url}/runs/r_1/live`, {redirect: 'manual'})
    expect(live.status).toBe(401)
    expect(live.headers.get('content-type')).toBe('application/json')
  })

  it('answer the form’s state by the CLI’s form logic, and never a secret’s default', async () => {
    const web = await webSession(portal.url, portal.member)
    const hidden = await web.post('/actions/pick_svc/form-state', {'in.mode': 'auto'})
    expect(hidden.status).toBe(200)
    expect(await json(hidden)).toEqual({defaults: {}, required: [], visible: ['mode', 'svc', 'token']})
    const shown = await json(await web.post('/actions/pick_svc/form-state', {'in.mode': 'manual'}))
    expect(shown.visible).toContain('reason')
    expect((await web.post('/actions/nope/form-state', {})).status).toBe(404)
  })

  it('list matching entities as JSON data, hostile titles as they are', async () => {
    const web = await webSession(portal.url, portal.member)
    const found = await web.post('/actions/pick_svc/choices', {input: 'svc', q: 'HOST'})
    expect(await json(found)).toEqual({entities: [{identifier: 'hostile', title: HOSTILE.title}]})
    expect(found.headers.get('x-content-type-options')).toBe('nosniff')
    expect((await web.post('/actions/pick_svc/choices', {input: 'mode', q: 'x'})).status).toBe(404)
  })
})
