import {readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type CliPortal, copyExampleCatalog, EXAMPLE_CATALOG, localPortal} from '../helpers/e2e.js'
import {tempDir} from '../helpers/portal.js'

let portal: CliPortal

beforeAll(async () => {
  portal = await localPortal()
  const synced = await portal.run(['catalog', 'sync', EXAMPLE_CATALOG, '--json'])
  expect(synced.code, synced.stderr).toBe(0)
})
afterAll(async () => {
  await portal?.stop()
})

describe('plan and sync judge relations against the state they leave behind', () => {
  it('refuse to prune an entity that a file still points at, before the first write', async () => {
    const dir = copyExampleCatalog()
    rmSync(join(dir, 'entities/Component/CoreKafkaLibrary.json'))

    const plan = await portal.run(['catalog', 'plan', dir, '--prune'])
    expect(plan.code).toBe(3)
    expect(plan.stderr).toMatch(/CartService\.json:\d+:\d+: error: points at "CoreKafkaLibrary".*--prune deletes it/)

    const sync = await portal.run(['catalog', 'sync', dir, '--prune'])
    expect(sync.code).toBe(3)
    expect(sync.stderr).toContain('nothing was written')
    const kept = await portal.api('GET', '/v1/blueprints/Component/entities/CoreKafkaLibrary')
    expect(kept.ok).toBe(true)

    // Without --prune the target stays on the portal, so the folder is fine as it is.
    const keep = await portal.run(['catalog', 'plan', dir])
    expect(keep.code, keep.stderr).toBe(0)
  })

  it('refuse to prune an entity that one made on the portal requires', async () => {
    const made = await portal.api('POST', '/v1/blueprints/API/entities', {
      identifier: 'KafkaAPI',
      properties: {},
      relations: {provider: 'CoreKafkaLibrary'},
    })
    expect(made.ok, JSON.stringify(made)).toBe(true)
    const dir = copyExampleCatalog()
    rmSync(join(dir, 'entities/Component/CoreKafkaLibrary.json'))
    const cart = join(dir, 'entities/Component/CartService.json')
    writeFileSync(cart, readFileSync(cart, 'utf8').replace(/,\s*"CoreKafkaLibrary"/, ''))

    const plan = await portal.run(['catalog', 'plan', dir, '--prune'])
    expect(plan.code).toBe(3)
    expect(plan.stderr).toContain('"KafkaAPI" (API) on the portal requires "CoreKafkaLibrary" (Component)')
    await portal.api('DELETE', '/v1/blueprints/API/entities/KafkaAPI')
  })
})

describe('permission errors', () => {
  it("a member's sync that changes a blueprint exits 4 and says who may, not to retry", async () => {
    const created = await portal.run(['portal', 'credential', '--data-dir', portal.dataDir, '--json'])
    const {clientId, clientSecret} = created.json()
    const dir = copyExampleCatalog()
    const file = join(dir, 'blueprints/Domain.json')
    writeFileSync(file, JSON.stringify({...JSON.parse(readFileSync(file, 'utf8')), title: 'Business domain'}))

    const member = {IDP_CLIENT_ID: clientId, IDP_CLIENT_SECRET: clientSecret}
    const sync = await portal.run(['catalog', 'sync', dir, '--api-url', portal.url], member)
    expect(sync.code).toBe(4)
    expect(sync.stderr).toContain('Only admin credentials may PUT /v1/blueprints/Domain')
    expect(sync.stderr).toContain('1 write was refused')
    expect(sync.stderr).not.toContain('retry')

    const json = await portal.run(['catalog', 'sync', dir, '--api-url', portal.url, '--json'], member)
    expect(json.code).toBe(4)
    expect(json.json().failed).toEqual([expect.objectContaining({identifier: 'Domain', status: 403})])
  })
})

describe('export', () => {
  it('writes an entity with a 300-character identifier, and plan on the export shows no changes', async () => {
    const identifier = 'x'.repeat(290) + '.lib-0001'
    const created = await portal.api('POST', '/v1/blueprints/Component/entities', {
      identifier,
      properties: {type: 'library'},
      relations: {},
    })
    expect(created.ok, JSON.stringify(created)).toBe(true)
    const twin = identifier.replace('0001', '0002')
    await portal.api('POST', '/v1/blueprints/Component/entities', {identifier: twin, properties: {}, relations: {}})

    const dir = join(tempDir(), 'exported')
    const exported = await portal.run(['catalog', 'export', dir, '--json'])
    expect(exported.code, exported.stderr).toBe(0)
    const names = readdirSync(join(dir, 'entities/Component')).filter((name) => name.startsWith('xxx'))
    expect(names).toHaveLength(2)
    for (const name of names) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255)

    const plan = await portal.run(['catalog', 'plan', dir, '--json', '--source', 'idp-examples'])
    expect(plan.json().errors).toEqual([])
    expect(plan.code).toBe(0)
    expect(plan.json().counts).toMatchObject({create: 0, delete: 0, update: 0})
  })
})
