import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ApiError, UnreachableError} from '../../src/api/errors.js'
import {HttpTransport, type HttpRequest} from '../../src/api/http.js'
import {PortClient} from '../../src/api/port-client.js'
import {TokenProvider} from '../../src/api/token.js'
import {ExitCode} from '../../src/errors.js'
import {checkRequest, hasSpec} from '../helpers/openapi.js'
import {startTestPortal, type TestPortal} from '../helpers/portal.js'

const fast = {retryBaseMs: 1, retryMaxMs: 20, userAgent: 'idp-test'}

async function client(baseUrl: string, credentials: {clientId: string; clientSecret: string}, record?: HttpRequest[]) {
  const transport = await HttpTransport.create({baseUrl, ...fast})
  if (record) {
    const send = transport.send.bind(transport)
    transport.send = (request) => {
      record.push(request)
      return send(request)
    }
  }
  const tokens = new TokenProvider({
    apiUrl: baseUrl,
    credentials: {...credentials, source: 'profile'},
    loginHint: 'log in',
    transport,
    unreachableHint: 'start it',
  })
  return new PortClient({apiUrl: baseUrl, tokens, transport, unreachableHint: 'start it'})
}

describe('PortClient against the embedded portal', () => {
  let portal: TestPortal
  let api: PortClient
  const sent: HttpRequest[] = []

  beforeAll(async () => {
    portal = await startTestPortal()
    api = await client(portal.url, portal.admin, sent)
  })
  afterAll(async () => {
    await api.close()
    await portal.stop()
  })

  it('manages blueprints and entities through the typed resources', async () => {
    await api.blueprints.create({identifier: 'svc', schema: {properties: {lang: {type: 'string'}}}, title: 'Service'})
    await api.blueprints.patch('svc', {description: 'Services'})
    expect((await api.blueprints.get('svc')).description).toBe('Services')
    expect((await api.blueprints.list()).map((bp) => bp.identifier)).toEqual(['_team', '_user', 'svc'])

    await api.entities.create('svc', {identifier: 'a', properties: {lang: 'go'}})
    const bulk = await api.entities.bulkUpsert(
      'svc',
      Array.from({length: 20}, (_, index) => ({identifier: `s${index}`, properties: {lang: 'ts'}})),
      {upsert: true},
    )
    expect(bulk.errors).toEqual([])
    expect(await api.entities.count('svc')).toBe(21)
    expect((await api.entities.get('svc', 'a')).properties).toEqual({lang: 'go'})

    const all = []
    for await (const entity of api.entities.search('svc', undefined)) all.push(entity.identifier)
    expect(all).toHaveLength(21)
    const paged = await api.entities.searchPage('svc', {combinator: 'and', rules: []}, {limit: 5})
    expect(paged.entities).toHaveLength(5)
    expect(paged.next).toEqual(expect.any(String))

    expect(await api.entities.bulkDelete('svc', ['s0', 's1'])).toEqual(['s0', 's1'])
    await api.entities.delete('svc', 'a')
    expect(await api.entities.count('svc')).toBe(18)
  })

  it('turns portal errors into ApiError with status, Port error code and exit code', async () => {
    const error = await api.blueprints.get('missing').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({code: 'not_found', exitCode: ExitCode.NOT_FOUND, status: 404})

    const invalid = await api.entities
      .create('svc', {identifier: 'b', properties: {lang: 1}})
      .catch((caught: unknown) => caught)
    expect(invalid).toMatchObject({exitCode: ExitCode.VALIDATION, status: 422})
    expect((invalid as Error).message).toContain('/properties/lang must be string')
  })

  it('sends only requests that match Port’s spec', () => {
    expect(sent.length).toBeGreaterThan(5)
    if (!hasSpec) return
    for (const request of sent) {
      const {errors} = checkRequest(request.method, request.path, request.body)
      expect(errors ?? [], `${request.method} ${request.path}`).toEqual([])
    }
  })

  it('gets a new token once when the portal answers 401', async () => {
    const transport = await HttpTransport.create({baseUrl: portal.url, ...fast})
    let saved = {accessToken: 'stale-token', expiresAt: Date.now() + 3_600_000}
    const tokens = new TokenProvider({
      apiUrl: portal.url,
      cache: {load: () => saved, save: (token) => void (saved = token)},
      credentials: {...portal.admin, source: 'profile'},
      loginHint: '',
      transport,
      unreachableHint: '',
    })
    const stale = new PortClient({apiUrl: portal.url, tokens, transport, unreachableHint: ''})
    expect(await stale.blueprints.list()).toHaveLength(3) // with Port's _team and _user
    expect(saved.accessToken).not.toBe('stale-token')
    await stale.close()
  })

  it('refreshes a cached token before it expires', async () => {
    const transport = await HttpTransport.create({baseUrl: portal.url, ...fast})
    const tokens = new TokenProvider({
      apiUrl: portal.url,
      cache: {load: () => ({accessToken: 'old', expiresAt: Date.now() + 30_000}), save: () => {}},
      credentials: {...portal.admin, source: 'profile'},
      loginHint: '',
      transport,
      unreachableHint: '',
    })
    expect(await tokens.token()).not.toBe('old')
    await transport.close()
  })

  it('reports bad credentials as an auth error', async () => {
    const wrong = await client(portal.url, {...portal.admin, clientSecret: 'nope'})
    await expect(wrong.blueprints.list()).rejects.toMatchObject({exitCode: ExitCode.AUTH})
    await wrong.close()
  })
})

describe('HttpTransport retries', () => {
  let server: Server
  let url: string
  let script: ((request: IncomingMessage, response: ServerResponse) => void)[] = []
  let seen = 0

  beforeAll(async () => {
    server = createServer((request, response) => {
      seen++
      const next = script.shift()
      if (next) return next(request, response)
      response.writeHead(200, {'content-type': 'application/json'}).end('{"ok":true}')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise((resolve) => server.close(resolve)))

  const status =
    (code: number, headers: Record<string, string> = {}) =>
    (_: IncomingMessage, response: ServerResponse) =>
      response
        .writeHead(code, {'content-type': 'application/json', ...headers})
        .end('{"ok":false,"error":"busy","message":"busy"}')
  const reset = (request: IncomingMessage) => request.socket.destroy()

  async function send(request: Partial<HttpRequest>, options: object = {}) {
    seen = 0
    const sleeps: number[] = []
    const transport = await HttpTransport.create({
      baseUrl: url,
      ...fast,
      sleep: async (ms) => void sleeps.push(ms),
      ...options,
    })
    try {
      const response = await transport.send({method: 'GET', path: '/v1/blueprints', ...request})
      return {response, seen, sleeps}
    } finally {
      await transport.close()
    }
  }

  it('retries 429 and honours Retry-After', async () => {
    script = [status(429, {'retry-after': '7'}), status(429)]
    const {response, seen, sleeps} = await send({}, {retryMaxMs: 60_000})
    expect(response.status).toBe(200)
    expect(seen).toBe(3)
    expect(sleeps[0]).toBe(7000)
  })

  it('retries 503 even for a POST, and 502/504 only for idempotent requests', async () => {
    script = [status(503)]
    expect((await send({body: {}, method: 'POST'})).response.status).toBe(200)
    script = [status(502)]
    expect((await send({body: {}, method: 'POST'})).response.status).toBe(502)
    script = [status(504), status(502)]
    expect((await send({})).response.status).toBe(200)
  })

  it('retries a dropped connection on idempotent requests', async () => {
    script = [reset, reset]
    const {response, seen} = await send({})
    expect(response.status).toBe(200)
    expect(seen).toBe(3)
  })

  it('gives up after the bounded number of retries, with jittered exponential backoff', async () => {
    script = Array.from({length: 10}, () => status(503))
    const {response, seen, sleeps} = await send({}, {random: () => 1, retries: 3, retryBaseMs: 100, retryMaxMs: 10_000})
    expect(response.status).toBe(503)
    expect(seen).toBe(4)
    expect(sleeps).toEqual([100, 200, 400])
    script = []
  })

  it('names the URL when nothing listens', async () => {
    const transport = await HttpTransport.create({baseUrl: 'http://127.0.0.1:1', ...fast})
    const tokens = new TokenProvider({
      apiUrl: 'http://127.0.0.1:1',
      credentials: {clientId: 'a', clientSecret: 'b', source: 'profile'},
      loginHint: '',
      transport,
      unreachableHint: 'Start it with idp portal serve',
    })
    const api = new PortClient({apiUrl: 'http://127.0.0.1:1', tokens, transport, unreachableHint: 'Start it'})
    const error = await api.blueprints.list().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(UnreachableError)
    expect(error).toMatchObject({
      exitCode: ExitCode.UNREACHABLE,
      message: expect.stringContaining('http://127.0.0.1:1'),
    })
    await api.close()
  })

  it('redacts secrets in the debug trace', async () => {
    const lines: string[] = []
    script = [(_, response) => response.writeHead(200).end('{"accessToken":"tok-123","expiresIn":10}')]
    await send(
      {body: {clientId: 'id', clientSecret: 'shh-secret'}, method: 'POST', path: '/v1/auth/access_token'},
      {trace: (line: string) => lines.push(line)},
    )
    const trace = lines.join('\n')
    expect(trace).toContain('"clientId":"id"')
    expect(trace).not.toContain('shh-secret')
    expect(trace).not.toContain('tok-123')
  })
})
