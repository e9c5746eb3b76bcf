import {cpSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type CliPortal, copyExampleCatalog, EXAMPLE_CATALOG, localPortal} from '../helpers/e2e.js'
import {tempDir} from '../helpers/portal.js'
import {runIdp} from '../helpers/run-command.js'

// What a new user tripped over on a fresh clone, each as they met it.
let portal: CliPortal

const editJson = (file: string, edit: (value: any) => void) => {
  const value = JSON.parse(readFileSync(file, 'utf8'))
  edit(value)
  writeFileSync(file, JSON.stringify(value, null, 2))
}

beforeAll(async () => {
  portal = await localPortal()
  const synced = await portal.run(['catalog', 'sync', EXAMPLE_CATALOG, '--json'])
  expect(synced.code, synced.stderr).toBe(0)
})
afterAll(async () => {
  await portal?.stop()
})

describe('catalog validate', () => {
  it('warns once about formulaProperties only where they hold something', async () => {
    const dir = copyExampleCatalog()
    for (const name of ['API', 'Component'])
      editJson(join(dir, `blueprints/${name}.json`), (blueprint) => {
        blueprint.formulaProperties = {score: {formula: '1'}}
      })
    const result = await portal.run(['catalog', 'validate', dir, '--json'])
    expect(result.json().warnings).toHaveLength(1)
    expect(result.json().warnings[0].message).toContain('also in 1 more')
  })

  it('in a folder that is not a catalog, names the catalog folders below instead of reporting package.json', async () => {
    const repo = tempDir('idp-repo-')
    writeFileSync(join(repo, 'package.json'), '{"name": "x"}')
    cpSync(EXAMPLE_CATALOG, join(repo, 'deploy/catalog'), {recursive: true})
    for (const command of ['validate', 'graph']) {
      const result = await runIdp(['catalog', command], {cwd: repo, env: portal.env})
      expect(result.code, result.stderr).toBe(2)
      expect(result.stderr).toContain(`idp catalog ${command} deploy/catalog`)
      expect(result.stderr).not.toContain('package.json')
    }
  })

  it('says "1 problem in the current folder", and gives a typographic quote in a value its line and column', async () => {
    const dir = tempDir('idp-catalog-')
    mkdirSync(join(dir, 'entities/Component'), {recursive: true})
    writeFileSync(join(dir, 'idp-catalog.json'), '{}')
    writeFileSync(join(dir, 'entities/Component/Cart.json'), '{\n  "identifier": "Cart",\n  "title": “Cart”\n}\n')
    const result = await runIdp(['catalog', 'validate'], {cwd: dir, env: portal.env})
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/Cart\.json:3:12: error: invalid JSON: Unexpected token '“'\. .*typographic quotes/)
    expect(result.stderr).toContain('1 problem in the current folder.')
  })
})

describe('catalog plan --detailed-exitcode', () => {
  it('exits 0 with no changes and 12 with changes', async () => {
    const same = await portal.run(['catalog', 'plan', EXAMPLE_CATALOG, '--detailed-exitcode'])
    expect(same.code, same.stderr).toBe(0)
    const dir = copyExampleCatalog()
    editJson(join(dir, 'entities/Component/CartService.json'), (entity) => (entity.title = 'Carts'))
    const changed = await portal.run(['catalog', 'plan', dir, '--detailed-exitcode', '--json'])
    expect(changed.code).toBe(12)
    expect(changed.json().counts.update).toBe(1)
    const plain = await portal.run(['catalog', 'plan', dir])
    expect(plain.code).toBe(0)
  })
})

describe('entities and runs', () => {
  it('the delete hint names the flag --delete-dependents', async () => {
    const result = await portal.run(['entity', 'delete', 'CartService', '-b', 'Component', '--yes'])
    expect(result.code).toBe(3)
    expect(result.stderr).toContain('--delete-dependents')
    expect(result.stderr).not.toContain('delete_dependents=true')
  })

  it('statuses and operations given as flags take any case', async () => {
    const runs = await portal.run(['run', 'list', '--status', 'success', '--json'])
    expect(runs.code, runs.stderr).toBe(0)
    const actions = await portal.run(['action', 'list', '--operation', 'day-2', '--json'])
    expect(actions.code, actions.stderr).toBe(0)
    expect(actions.json().actions.length).toBeGreaterThan(0)
    const wrong = await portal.run(['run', 'list', '--status', 'done'])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toContain('IN_PROGRESS, WAITING_FOR_APPROVAL, SUCCESS, FAILURE, DECLINED')
  })
})
