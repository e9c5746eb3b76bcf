import {request} from 'node:http'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {encodeSelfCallPart, selfCallProblem} from '../../src/portal/invoke/self-call.js'
import {startRolesPortal, type RolesPortal} from './helpers.js'

/** Identifiers and template values an attacker would try: dot-segments, encodings, look-alikes, sizes, NUL. */
const NASTY = [
  '.',
  '..',
  '...',
  'a/../b',
  'a/./b',
  '../../actions/victim',
  '%2e%2e',
  '%2E%2e/x',
  '.%2e',
  'a%2Fb',
  'a%252e%252e',
  '%',
  '%zz',
  'a\\b',
  '..\\..\\x',
  '\u2024\u2024',
  '\uff0e\uff0e',
  'a\uff0fb',
  'caf\u00e9',
  'a?b=c',
  'a#b',
  'a b',
  'a\u0000b',
  'a\nb',
  'x'.repeat(1000),
  'x'.repeat(1001),
  '/'.repeat(50),
  '',
]

let portal: RolesPortal

beforeAll(async () => {
  portal = await startRolesPortal()
  await portal.asAdmin.call('POST', '/v1/blueprints', {identifier: 'svc', schema: {properties: {}}, title: 'Service'})
})
afterAll(() => portal.stop())

/** A request whose path is sent exactly as given (fetch would normalise it first). */
const raw = (method: string, path: string, token: string) =>
  new Promise<number>((resolve, reject) => {
    const {hostname, port} = new URL(portal.url)
    const sent = request({headers: {authorization: `Bearer ${token}`}, hostname, method, path, port}, (response) => {
      response.resume()
      resolve(response.statusCode!)
    })
    sent.on('error', reject)
    sent.end()
  })

describe('identifiers a member may send', () => {
  it.each(NASTY.map((value) => [JSON.stringify(value).slice(0, 40), value]))(
    '%s: stored and read back exactly, or refused with 4xx; never a 500',
    async (_name, identifier) => {
      const created = await portal.member.call('POST', '/v1/blueprints/svc/entities', {identifier})
      expect([201, 422]).toContain(created.status)
      if (created.status === 201) {
        const read = await portal.member.call('GET', `/v1/blueprints/svc/entities/${encodeURIComponent(identifier)}`)
        expect(read.body.entity.identifier).toBe(identifier)
        const gone = await portal.member.call('DELETE', `/v1/blueprints/svc/entities/${encodeURIComponent(identifier)}`)
        expect(gone.status).toBe(200)
      }
      // Sent raw, a path that seems to name this entity must not reach anything else.
      if (identifier !== '' && /^[\x21-\x7e]+$/.test(identifier) && !/[#?]/.test(identifier)) {
        for (const method of ['GET', 'DELETE']) {
          const status = await raw(method, `/v1/blueprints/svc/entities/${identifier}`, portal.member.token)
          expect(status, `${method} raw`).toBeGreaterThanOrEqual(400)
          expect(status, `${method} raw`).toBeLessThan(500)
        }
      }
      expect((await portal.asAdmin.call('GET', '/v1/blueprints/svc')).status).toBe(200)
    },
  )
})

describe('template values in a self-call URL', () => {
  const template = (value: string) => `https://api.port.io/v1/blueprints/svc/entities/${encodeSelfCallPart(value)}`

  it.each(NASTY.map((value) => [JSON.stringify(value).slice(0, 40), value]))(
    '%s: the call names exactly that entity, or is refused',
    (_name, value) => {
      const url = template(value)
      const problem = selfCallProblem(url)
      if (problem !== undefined) return
      const segments = new URL(url).pathname.split('/')
      expect(segments.slice(0, 5)).toEqual(['', 'v1', 'blueprints', 'svc', 'entities'])
      expect(segments).toHaveLength(6)
      expect(decodeURIComponent(segments[5]!)).toBe(value)
    },
  )

  it.each([
    'https://api.port.io/v1/blueprints/svc/entities/../../../actions/victim',
    'https://api.port.io/v1/blueprints/svc/entities/%2e%2e/%2E%2E/actions/victim',
    'https://api.port.io/v1/blueprints/svc/entities/.%2e/x',
    'https://api.port.io/v1/blueprints/svc/entities/a\\..\\..\\x',
    'https://api.port.io/v1/blueprints/svc/entities/a\tb',
    'https://api.port.io/v1/blueprints/svc/entities/./x',
    'https://api.port.io/v1/blueprints/svc/entities/%zz',
    'not a url',
  ])('refuses %s when it is rendered whole', (url) => {
    expect(selfCallProblem(url)).toBeDefined()
  })

  it('lets ordinary self-calls through, query strings included', () => {
    expect(selfCallProblem('https://api.port.io/v1/blueprints/svc/entities/a%2Fb?delete_dependents=false')).toBe(
      undefined,
    )
    expect(selfCallProblem('http://127.0.0.1:5480/v1/actions/runs/r_1/approval')).toBe(undefined)
    expect(selfCallProblem('https://api.port.io/v1/blueprints/svc/entities/caf%C3%A9')).toBe(undefined)
  })
})
