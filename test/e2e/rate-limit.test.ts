import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, expect, it} from 'vitest'

import {parseRateLimit} from '../../src/portal/http/rate-limit.js'
import {localPortal, type CliPortal} from '../helpers/e2e.js'
import {accessToken, until} from '../helpers/http.js'
import {tempDir} from '../helpers/portal.js'

/**
 * `portal serve --rate-limit` answers as Port does (x-ratelimit-* headers, 429 with Retry-After),
 * and idp paces itself by those headers: a sync bigger than one window waits for the next window
 * instead of retrying into 429s, and says that it waits.
 */
let portal: CliPortal
beforeAll(async () => {
  portal = await localPortal({portal: {rateLimit: parseRateLimit('12/1s')}})
})
afterAll(() => portal.stop())

it('tells the window in headers and refuses with 429 and Retry-After past the limit', async () => {
  // A member's own window: each credential has one, so the admin's stays fresh for the sync below.
  const {clientId, clientSecret} = (
    await portal.run(['portal', 'credential', '--data-dir', portal.dataDir, '--json'])
  ).json()
  const token = await accessToken(portal.url, {clientId, clientSecret})
  // 30 at once: however the one-second windows fall, one of them gets more than 12.
  const answers = await Promise.all(
    Array.from({length: 30}, () => fetch(`${portal.url}/v1/blueprints`, {headers: {authorization: `Bearer ${token}`}})),
  )
  const first = answers[0]!
  expect(first.headers.get('x-ratelimit-limit')).toBe('12')
  expect(first.headers.get('x-ratelimit-period')).toBe('1')
  expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000 - 1)
  const refused = answers.find((answer) => answer.status === 429)
  expect(refused).toBeDefined()
  expect(refused!.headers.get('retry-after')).toMatch(/^\d+$/)
  expect(await refused!.json()).toMatchObject({error: 'rate_limit_exceeded', ok: false})
})

it('catalog sync paces itself to the limit: waits for windows, (almost) no 429s', async () => {
  const dir = tempDir('idp-ratelimited-')
  mkdirSync(join(dir, 'blueprints'))
  mkdirSync(join(dir, 'entities'))
  writeFileSync(
    join(dir, 'blueprints', 'svc.json'),
    JSON.stringify({identifier: 'svc', schema: {properties: {}}, title: 'Service'}),
  )
  for (let index = 0; index < 400; index++) {
    writeFileSync(
      join(dir, 'entities', `svc-${index}.json`),
      JSON.stringify({blueprint: 'svc', identifier: `svc-${index}`}),
    )
  }
  const sync = await portal.run(['catalog', 'sync', dir, '--source', 'paced'], {IDP_DEBUG: 'http'})
  expect(sync.code, sync.stderr.slice(-2000)).toBe(0)
  const lines = sync.stderr.split('\n')
  const requests = lines.filter((line) => line.startsWith('→ ')).length
  const refused = lines.filter((line) => line.startsWith('← 429')).length
  expect(requests).toBeGreaterThan(24) // more than two windows' worth
  expect(refused).toBeLessThanOrEqual(Math.ceil(requests / 100))
  expect(sync.stderr).toMatch(/Rate limit reached: waiting \ds for the API's next window/)
  // The sync may have used this window up: ask until the next one answers.
  const counted = await until(async () => (await portal.api('GET', '/v1/blueprints/svc/entities-count')).count)
  expect(counted).toBe(400)
})

it('refuses a malformed --rate-limit as a usage error', async () => {
  const bad = await portal.run(['portal', 'serve', '--port', '0', '--rate-limit', 'lots'])
  expect(bad.code).toBe(2)
  expect(bad.stderr).toContain('expected REQUESTS/PERIOD, such as 600/60s')
})
