import {execFileSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {HttpTransport} from '../../src/api/http.js'
import {PortClient} from '../../src/api/port-client.js'
import {TokenProvider} from '../../src/api/token.js'
import {applyPlan} from '../../src/catalog/apply.js'
import {normalizeRemote, resolveSource} from '../../src/catalog/source.js'
import {prepareSync} from '../../src/services/catalog.js'
import {startTestPortal, tempDir, type TestPortal} from '../helpers/portal.js'

let portal: TestPortal
let client: PortClient

beforeAll(async () => {
  portal = await startTestPortal()
  const transport = await HttpTransport.create({baseUrl: portal.url, userAgent: 'test'})
  const tokens = new TokenProvider({
    apiUrl: portal.url,
    credentials: {...portal.admin, source: 'profile'},
    loginHint: '',
    transport,
    unreachableHint: '',
  })
  client = new PortClient({apiUrl: portal.url, tokens, transport, unreachableHint: ''})
})
afterAll(async () => {
  await client.close()
  await portal.stop()
})

function folder(files: Record<string, unknown>): string {
  const dir = tempDir('idp-sync-')
  for (const [path, value] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), {recursive: true})
    writeFileSync(join(dir, path), JSON.stringify(value))
  }
  return dir
}

async function sync(dir: string, prune = false) {
  const prepared = await prepareSync(client, dir, {env: {}, force: false, prune, source: 'test'})
  expect(prepared.errors).toEqual([])
  return applyPlan(client, prepared.plan, prepared.remote, prepared.ownership)
}

describe('relation cycles', () => {
  it('creates blueprints that require each other, and entities on a required cycle', async () => {
    const dir = folder({
      'blueprints/Chicken.json': {
        identifier: 'Chicken',
        relations: {egg: {many: false, required: true, target: 'Egg'}},
        schema: {properties: {}},
        title: 'Chicken',
      },
      'blueprints/Egg.json': {
        identifier: 'Egg',
        relations: {chicken: {many: false, required: true, target: 'Chicken'}},
        schema: {properties: {}},
        title: 'Egg',
      },
      'blueprints/Node.json': {
        identifier: 'Node',
        relations: {next: {many: true, required: false, target: 'Node'}},
        schema: {properties: {n: {type: 'number'}}},
        title: 'Node',
      },
      'entities/Chicken/c.json': {identifier: 'c', relations: {egg: 'e'}},
      'entities/Egg/e.json': {identifier: 'e', relations: {chicken: 'c'}},
      'entities/Node/a.json': {identifier: 'a', properties: {n: 1}, relations: {next: ['b']}},
      'entities/Node/b.json': {identifier: 'b', properties: {n: 2}, relations: {next: ['c']}},
      'entities/Node/c.json': {identifier: 'c', properties: {n: 3}, relations: {next: ['a']}},
    })
    const summary = await sync(dir)
    expect(summary.failed).toEqual([])
    expect(summary.created).toHaveLength(8)
    expect((await client.entities.get('Egg', 'e')).relations).toEqual({chicken: 'c'})
    expect(await client.entities.get('Node', 'c')).toMatchObject({properties: {n: 3}, relations: {next: ['a']}})
    const again = await sync(dir)
    expect(again.unchanged).toHaveLength(8)
    expect([...again.created, ...again.updated]).toEqual([])
  })

  it('prunes dependents before their targets, and blueprints after their entities', async () => {
    const dir = folder({
      'blueprints/Parent.json': {identifier: 'Parent', schema: {properties: {}}, title: 'Parent'},
      'blueprints/Child.json': {
        identifier: 'Child',
        relations: {parent: {required: true, target: 'Parent'}},
        schema: {properties: {}},
        title: 'Child',
      },
      'entities/Parent/p.json': {identifier: 'p'},
      'entities/Child/k.json': {identifier: 'k', relations: {parent: 'p'}},
    })
    expect((await sync(dir)).failed).toEqual([])
    const empty = folder({'blueprints/Keep.json': {identifier: 'Keep', schema: {properties: {}}, title: 'Keep'}})
    // Same source, different folder content: everything of the first folder goes.
    const summary = await sync(empty, true)
    expect(summary.failed).toEqual([])
    expect(summary.deleted.map((ref) => ref.identifier)).toEqual(expect.arrayContaining(['k', 'p', 'Parent', 'Child']))
    await expect(client.blueprints.get('Parent')).rejects.toMatchObject({status: 404})
  })
})

describe('catalog source identity', () => {
  it('is the same from two checkouts of one repository, whatever the path', () => {
    const identities = ['one', 'two'].map((name) => {
      const repo = join(tempDir(), name)
      mkdirSync(join(repo, 'catalog'), {recursive: true})
      execFileSync('git', ['init', '-q', repo])
      execFileSync('git', [
        '-C',
        repo,
        'remote',
        'add',
        'origin',
        name === 'one' ? 'git@github.com:Acme/platform.git' : 'https://ci-token@github.com/acme/platform',
      ])
      return resolveSource(join(repo, 'catalog'), {env: {}})
    })
    expect(identities[0]).toEqual(identities[1])
    expect(identities[0]).toMatchObject({from: 'git', name: 'github.com/acme/platform:catalog'})
  })

  it('prefers --source, then IDP_CATALOG_SOURCE, then idp-catalog.json', () => {
    const dir = folder({'idp-catalog.json': {source: 'from-file'}})
    expect(resolveSource(dir, {env: {}, flag: 'flag'})?.name).toBe('flag')
    expect(resolveSource(dir, {env: {IDP_CATALOG_SOURCE: 'env'}})?.name).toBe('env')
    expect(resolveSource(dir, {env: {}})?.name).toBe('from-file')
    expect(resolveSource(tempDir(), {env: {}})).toBeUndefined()
  })

  it.each([
    ['git@github.com:acme/x.git', 'github.com/acme/x'],
    ['https://user:token@github.com/acme/x/', 'github.com/acme/x'],
    ['ssh://git@gitlab.example.com:2222/group/x.git', 'gitlab.example.com:2222/group/x'],
  ])('normalizes %s', (remote, expected) => expect(normalizeRemote(remote)).toBe(expected))
})

describe('actions in a catalog folder', () => {
  const action = (title: string) => ({
    identifier: 'restart',
    invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
    title,
    trigger: {blueprintIdentifier: 'App', operation: 'DAY-2', type: 'self-service', userInputs: {properties: {}}},
  })
  const files = (title: string) => ({
    'actions/restart.json': action(title),
    'blueprints/App.json': {identifier: 'App', schema: {properties: {}}, title: 'App'},
  })

  it('creates, updates with the changed fields, leaves alone, and prunes actions like the rest', async () => {
    const first = await sync(folder(files('Restart')))
    expect(first.failed).toEqual([])
    expect(first.created).toContainEqual({identifier: 'restart', kind: 'action'})
    expect((await client.actions.get('restart')).title).toBe('Restart')

    const changed = folder(files('Restart the app'))
    const plan = await prepareSync(client, changed, {env: {}, force: false, prune: false, source: 'test'})
    expect(plan.plan.actions).toMatchObject([
      {action: 'update', fields: ['title'], identifier: 'restart', kind: 'action'},
    ])
    expect((await sync(changed)).updated).toContainEqual({identifier: 'restart', kind: 'action'})
    expect((await sync(changed)).unchanged).toContainEqual({identifier: 'restart', kind: 'action'})

    const pruned = await sync(folder({'blueprints/App.json': files('x')['blueprints/App.json']}), true)
    expect(pruned.deleted).toContainEqual({identifier: 'restart', kind: 'action'})
    await expect(client.actions.get('restart')).rejects.toMatchObject({status: 404})
  })

  it('validates actions: their schema, and the blueprints they name', async () => {
    const dir = folder({
      'actions/bad.json': {
        ...action('x'),
        identifier: 'bad',
        invocationMethod: {type: 'WEBHOOK'},
        trigger: {...action('x').trigger, blueprintIdentifier: 'Ghost'},
      },
    })
    const prepared = await prepareSync(client, dir, {env: {}, force: false, prune: false, source: 'test'})
    expect(prepared.errors.map((problem) => `${problem.pointer} ${problem.message}`)).toEqual([
      '/invocationMethod/url is required',
    ])
    const named = folder({
      'actions/ghost.json': {
        ...action('x'),
        identifier: 'ghost',
        trigger: {...action('x').trigger, blueprintIdentifier: 'Ghost'},
      },
    })
    const ghost = await prepareSync(client, named, {env: {}, force: false, prune: false, source: 'test'})
    expect(ghost.errors.map((problem) => `${problem.pointer} ${problem.message}`)).toEqual([
      '/trigger/blueprintIdentifier names blueprint "Ghost", which is not in the folder or on the portal',
    ])
  })
})
