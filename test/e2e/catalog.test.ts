import {cpSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {ROOT} from '../helpers/cli.js'
import {type CliPortal, copyExampleCatalog, EXAMPLE_CATALOG, localPortal} from '../helpers/e2e.js'
import {faultProxy} from '../helpers/fault-proxy.js'
import {tempDir} from '../helpers/portal.js'

let portal: CliPortal

/** A fresh portal per describe block keeps the tests independent. */
async function freshPortal() {
  if (portal) await portal.stop()
  portal = await localPortal()
}

const writeJson = (path: string, value: unknown) => {
  mkdirSync(join(path, '..'), {recursive: true})
  writeFileSync(path, JSON.stringify(value, null, 2))
}
const ids = (list: {kind: string; blueprint?: string; identifier: string}[]) =>
  list.map((item) => (item.blueprint ? `${item.blueprint}/${item.identifier}` : item.identifier)).sort()

afterAll(async () => {
  await portal?.stop()
})

describe('the seed catalog', () => {
  beforeAll(freshPortal)

  it('validates offline with no problems and no warnings (its formulaProperties are empty)', async () => {
    const result = await portal.run(['catalog', 'validate', EXAMPLE_CATALOG, '--json'])
    expect(result.code).toBe(0)
    expect(result.json()).toMatchObject({actions: 8, blueprints: 6, entities: 9, errors: [], files: 23, valid: true})
    expect(result.json().warnings).toEqual([])
  })

  it('syncs into a fresh portal as-is; a second sync reports everything unchanged and writes nothing', async () => {
    const first = await portal.run(['catalog', 'sync', EXAMPLE_CATALOG, '--json'])
    expect(first.code, first.stderr).toBe(0)
    expect(first.json().counts).toEqual({created: 23, deleted: 0, failed: 0, unchanged: 0, updated: 0})
    expect(first.json().source).toBe('idp-examples')

    const second = await portal.run(['catalog', 'sync', EXAMPLE_CATALOG, '--json'], {IDP_DEBUG: 'http'})
    expect(second.json().counts).toEqual({created: 0, deleted: 0, failed: 0, unchanged: 23, updated: 0})
    const writes = second.stderr
      .split('\n')
      .filter((line) => /^→ (POST|PUT|PATCH|DELETE) /.test(line) && !/search|access_token/.test(line))
    expect(writes).toEqual([])

    const cart = await portal.run(['entity', 'get', 'CartService', '-b', 'Component', '--json'])
    expect(cart.json().entity.relations).toEqual({
      components: ['CorePaymentLibrary', 'CoreKafkaLibrary'],
      resources: ['cart-sql-sb'],
      system: 'Cart',
    })
  })

  it('exports the portal so that plan on the export shows no changes', async () => {
    const dir = join(tempDir(), 'exported')
    const exported = await portal.run(['catalog', 'export', dir, '--json'])
    expect(exported.json()).toEqual({actions: 8, blueprints: 6, dir, entities: 9})
    const plan = await portal.run(['catalog', 'plan', dir, '--json', '--source', 'exported'])
    expect(plan.json().counts).toMatchObject({create: 0, delete: 0, unchanged: 23, update: 0})
    const again = await portal.run(['catalog', 'export', dir])
    expect(again.code).toBe(2)
    expect(again.stderr).toContain('already holds catalog files')
  })
})

describe("Port's teams in a catalog folder", () => {
  beforeAll(freshPortal)

  it('validates _team entities without a blueprint file and creates teams before the entities they own', async () => {
    const dir = tempDir('idp-teams-')
    const file = (path: string, value: unknown) => {
      mkdirSync(join(dir, path, '..'), {recursive: true})
      writeFileSync(join(dir, path), JSON.stringify(value, null, 2))
    }
    file('blueprints/pet.json', {
      identifier: 'pet',
      ownership: {type: 'Direct'},
      schema: {properties: {}},
      title: 'Pet',
    })
    file('entities/_team/vets.json', {identifier: 'vets', title: 'Vets'})
    file('entities/pet/rex.json', {identifier: 'rex', team: ['vets']})
    const validate = await portal.run(['catalog', 'validate', dir])
    expect(validate.code, validate.stderr).toBe(0)
    const sync = await portal.run(['catalog', 'sync', dir, '--source', 'teams'])
    expect(sync.code, sync.stderr).toBe(0)
    expect((await portal.run(['entity', 'get', 'rex', '-b', 'pet', '--json'])).json().entity.team).toEqual(['vets'])
    const exported = join(tempDir(), 'exported')
    await portal.run(['catalog', 'export', exported, '--blueprint', 'pet', '--blueprint', '_team'])
    expect(readFileSync(join(exported, 'entities/_team/vets.json'), 'utf8')).toContain('"vets"')
    expect(() => readFileSync(join(exported, 'blueprints/_team.json'))).toThrow()
  })
})

describe('plan, dry run and sync agree', () => {
  beforeAll(freshPortal)

  it('shows exactly one edited field, and dry-run, plan and sync name the same changes', async () => {
    const dir = copyExampleCatalog()
    expect((await portal.run(['catalog', 'sync', dir])).code).toBe(0)
    const file = join(dir, 'entities/Component/CoreKafkaLibrary.json')
    const library = JSON.parse(readFileSync(file, 'utf8'))
    const TITLE = library.title
    library.title = 'Kafka client'
    writeFileSync(file, JSON.stringify(library))
    writeJson(join(dir, 'entities/System/Payments.json'), {
      identifier: 'Payments',
      relations: {domain: 'Orders'},
      title: 'Payments',
    })

    const plan = await portal.run(['catalog', 'plan', dir, '--json'])
    expect(plan.json().changes).toEqual([
      {
        action: 'update',
        blueprint: 'Component',
        fields: ['title'],
        file: expect.stringContaining('CoreKafkaLibrary.json'),
        identifier: 'CoreKafkaLibrary',
        kind: 'entity',
        values: {title: {from: TITLE, to: 'Kafka client'}},
      },
      {
        action: 'create',
        blueprint: 'System',
        file: expect.stringContaining('Payments.json'),
        identifier: 'Payments',
        kind: 'entity',
      },
    ])
    const markdown = await portal.run(['catalog', 'plan', dir, '--format', 'markdown'])
    expect(markdown.stdout).toContain(
      `| update | entity | \`Component/CoreKafkaLibrary\` | title: ${TITLE} → Kafka client |`,
    )
    const text = await portal.run(['catalog', 'plan', dir])
    expect(text.stdout).toContain(`title: ${TITLE} → Kafka client`)

    const dry = await portal.run(['catalog', 'sync', dir, '--dry-run', '--json'], {IDP_DEBUG: 'http'})
    const writes = dry.stderr
      .split('\n')
      .filter((line) => /^→ (POST|PUT|PATCH|DELETE) /.test(line) && !/search|access_token/.test(line))
    expect(writes).toEqual([])
    const applied = await portal.run(['catalog', 'sync', dir, '--json'])
    for (const result of [dry.json(), applied.json()]) {
      expect(ids(result.updated)).toEqual(['Component/CoreKafkaLibrary'])
      expect(ids(result.created)).toEqual(['System/Payments'])
    }
    expect(dry.json().dryRun).toBe(true)
    expect((await portal.run(['catalog', 'plan', dir, '--json'])).json().changes).toEqual([])
  })

  it('moving a file is a no-op: entities are identified by blueprint and identifier', async () => {
    const dir = copyExampleCatalog()
    expect((await portal.run(['catalog', 'sync', dir])).code).toBe(0)
    mkdirSync(join(dir, 'entities/Component/nested'), {recursive: true})
    const from = join(dir, 'entities/API/CartAPI.json')
    writeFileSync(join(dir, 'entities/Component/nested/CartAPI.json'), readFileSync(from))
    rmSync(from)
    expect((await portal.run(['catalog', 'plan', dir, '--json'])).json().counts).toMatchObject({create: 0, update: 0})
  })
})

describe('prune', () => {
  beforeEach(freshPortal)

  it('deletes exactly the entity whose file is gone, and nothing another source or a person created', async () => {
    const mine = copyExampleCatalog()
    expect((await portal.run(['catalog', 'sync', mine])).code).toBe(0)
    const theirs = tempDir()
    writeJson(join(theirs, 'System/Shipping.json'), {identifier: 'Shipping', relations: {domain: 'Orders'}})
    expect((await portal.run(['catalog', 'sync', theirs, '--source', 'team-b'])).code).toBe(0)
    const person = await portal.run(['entity', 'list', '-b', 'System', '--json'])
    expect(person.json().entities).toHaveLength(3)

    rmSync(join(mine, 'entities/Component/CorePaymentLibrary.json'))
    const cart = join(mine, 'entities/Component/CartService.json')
    writeFileSync(cart, readFileSync(cart, 'utf8').replace('"CorePaymentLibrary",', ''))

    const plain = await portal.run(['catalog', 'sync', mine])
    expect(plain.stderr).toContain('1 documents this source created are no longer in the folder; --prune deletes them.')
    const pruned = await portal.run(['catalog', 'sync', mine, '--prune', '--json'])
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(pruned.json().deleted).toEqual([{blueprint: 'Component', identifier: 'CorePaymentLibrary', kind: 'entity'}])

    const systems = await portal.run(['entity', 'list', '-b', 'System', '--json'])
    expect(
      systems
        .json()
        .entities.map((e: {identifier: string}) => e.identifier)
        .sort(),
    ).toEqual(['Cart', 'Products', 'Shipping'])
    expect((await portal.run(['catalog', 'sync', mine, '--prune', '--json'])).json().counts.deleted).toBe(0)
  })

  it('refuses to take over what another source owns unless --force', async () => {
    const theirs = tempDir()
    writeJson(join(theirs, 'blueprints/Team.json'), {identifier: 'Team', schema: {properties: {}}, title: 'Team'})
    expect((await portal.run(['catalog', 'sync', theirs, '--source', 'a'])).code).toBe(0)
    const result = await portal.run(['catalog', 'sync', theirs, '--source', 'b'])
    expect(result.code).toBe(3)
    expect(result.stderr).toContain('is managed by catalog source "a"')
    expect((await portal.run(['catalog', 'sync', theirs, '--source', 'b', '--force'])).code).toBe(0)
  })

  it('refuses more deletions than --max-delete, and refuses to prune with invalid files', async () => {
    const dir = copyExampleCatalog()
    expect((await portal.run(['catalog', 'sync', dir])).code).toBe(0)
    rmSync(join(dir, 'entities/Component'), {recursive: true})
    rmSync(join(dir, 'entities/API'), {recursive: true})
    const capped = await portal.run(['catalog', 'sync', dir, '--prune', '--max-delete', '2'])
    expect(capped.code).toBe(2)
    expect(capped.stderr).toContain('would delete 5 documents, more than --max-delete 2; nothing was written')
    writeFileSync(join(dir, 'entities/System/Broken.json'), '{"identifier": ')
    const broken = await portal.run(['catalog', 'sync', dir, '--prune'])
    expect(broken.code).toBe(3)
    expect((await portal.run(['entity', 'list', '-b', 'Component', '--json'])).json().entities).toHaveLength(4)
  })

  it('needs a source identity to prune', async () => {
    const dir = tempDir()
    writeJson(join(dir, 'blueprints/X.json'), {identifier: 'X', schema: {properties: {}}, title: 'X'})
    const result = await portal.run(['catalog', 'sync', dir, '--prune'], {IDP_CATALOG_SOURCE: undefined})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--source NAME')
  })
})

describe('bad input: a clear error, and nothing written', () => {
  beforeAll(freshPortal)

  const cases: [string, (dir: string) => void, RegExp][] = [
    [
      'typographic quotes',
      (dir) =>
        cpSync(join(ROOT, 'test/fixtures/seed-typographic/Resource.json'), join(dir, 'blueprints/Resource.json')),
      /blueprints\/Resource\.json:2:2: error: invalid JSON: .*typographic quotes/,
    ],
    [
      'a wrong property type',
      (dir) => writeJson(join(dir, 'entities/Component/Bad.json'), {identifier: 'Bad', properties: {type: 7}}),
      /entities\/Component\/Bad\.json:4:5: error: must be string \(at \/properties\/type\)/,
    ],
    [
      'an unknown blueprint',
      (dir) => writeJson(join(dir, 'entities/Widget/w.json'), {identifier: 'w'}),
      /entities\/Widget\/w\.json:1:1: error: unknown blueprint "Widget", named by the folder it sits in/,
    ],
    [
      'a missing relation target',
      (dir) => writeJson(join(dir, 'entities/System/Lost.json'), {identifier: 'Lost', relations: {domain: 'Nowhere'}}),
      /Lost\.json:4:5: error: points at "Nowhere", which is not a "Domain" entity in the folder.* \(at \/relations\/domain\)/,
    ],
    [
      'a duplicate identifier',
      (dir) => writeJson(join(dir, 'entities/System/again.json'), {identifier: 'Cart', relations: {domain: 'Orders'}}),
      /again\.json:2:3: error: duplicate entity "Cart" of blueprint "System", also in .*entities\/System\/Cart\.json/,
    ],
    [
      'an identifier breaking Port’s rules',
      (dir) =>
        writeJson(join(dir, 'entities/System/bad-id.json'), {identifier: 'has space', relations: {domain: 'Orders'}}),
      /bad-id\.json:2:3: error: does not match .* \(at \/identifier\)/,
    ],
    [
      'invalid YAML (the message ends with the reason, not a dangling colon)',
      (dir) => writeFileSync(join(dir, 'entities/System/bad.yaml'), 'identifier: x\n  bad: indent\n'),
      /bad\.yaml:1:13: error: invalid YAML: Nested mappings are not allowed in compact mappings\n/,
    ],
    [
      'a file that is neither blueprint nor entity',
      (dir) => writeJson(join(dir, 'notes.json'), {identifier: 'x', owner: 'me'}),
      /notes\.json:3:3: error: is neither a blueprint \(no "schema"\), an action \(no "trigger"\) nor an entity \(it has "owner", which entities do not have\)/,
    ],
    [
      'a relation to a blueprint that is nowhere',
      (dir) =>
        writeJson(join(dir, 'blueprints/Orphan.json'), {
          identifier: 'Orphan',
          relations: {x: {target: 'Ghost'}},
          schema: {properties: {}},
          title: 'O',
        }),
      /Orphan\.json:5:7: error: targets blueprint "Ghost"/,
    ],
  ]

  it.each(cases)('%s', async (_name, breakIt, expected) => {
    const dir = copyExampleCatalog()
    breakIt(dir)
    const validate = await portal.run(['catalog', 'validate', dir])
    expect(validate.code).toBe(3)
    expect(validate.stderr).toMatch(expected)
    const sync = await portal.run(['catalog', 'sync', dir])
    expect(sync.code).toBe(3)
    expect(sync.stderr).toMatch(expected)
    expect(sync.stderr).toContain('nothing was written')
    const blueprints = (await portal.run(['blueprint', 'list', '--json'])).json().blueprints
    // Only Port's system blueprints, which every portal has.
    expect(blueprints.map((blueprint: {identifier: string}) => blueprint.identifier)).toEqual(['_team', '_user'])
  })

  it('a file given as DIR is a usage error before the portal is asked anything', async () => {
    const file = join(copyExampleCatalog(), 'blueprints/API.json')
    for (const command of ['validate', 'plan', 'sync', 'graph']) {
      const result = await portal.run(['catalog', command, file])
      expect(result.code, command).toBe(2)
      expect(result.stderr).toContain('is a file; idp catalog works on a folder of catalog files')
    }
  })

  it('prints GitHub Actions annotations', async () => {
    const dir = copyExampleCatalog()
    writeJson(join(dir, 'entities/Component/Bad.json'), {identifier: 'Bad', properties: {type: 7}})
    const result = await portal.run(['catalog', 'validate', dir, '--format', 'github'])
    expect(result.stdout).toMatch(/^::error file=.*Bad\.json,line=4,col=5::must be string \(at \/properties\/type\)$/m)
  })
})

describe('portal errors mid-sync', () => {
  beforeAll(freshPortal)

  it('retries, reports exactly what failed when it gives up, and a rerun converges', async () => {
    let flaky = 0
    const proxy = await faultProxy(portal.url, (request) => {
      if (!request.url?.includes('/entities/bulk')) return undefined
      if (request.url.includes('/Component/')) return 503 // always: the sync gives up on these
      return flaky++ % 2 === 0 ? 429 : undefined // every other bulk request: retried and succeeds
    })
    const failing = await portal.run(['catalog', 'sync', EXAMPLE_CATALOG, '--json'], {
      IDP_API_URL: proxy.url,
      // The profile's credentials only go to its own URL: pass them as env for the proxy's.
      IDP_CLIENT_ID: portal.credentials().clientId,
      IDP_CLIENT_SECRET: portal.credentials().clientSecret,
    })
    await proxy.close()
    expect(failing.code).toBe(8)
    const summary = failing.json()
    // CartAPI needs CartService (a required relation), so it fails with it.
    expect(ids(summary.failed)).toEqual([
      'API/CartAPI',
      'Component/CartService',
      'Component/CoreKafkaLibrary',
      'Component/CorePaymentLibrary',
      'Component/ProductsService',
    ])
    expect(summary.failed.find((f: {identifier: string}) => f.identifier === 'CartService').message).toContain(
      'injected 503',
    )
    expect(summary.counts.created).toBe(18)

    const rerun = await portal.run(['catalog', 'sync', EXAMPLE_CATALOG, '--json'])
    expect(rerun.code).toBe(0)
    expect(rerun.json().counts).toMatchObject({created: 5, failed: 0, unchanged: 18})
  }, 60_000)
})
