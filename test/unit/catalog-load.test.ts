import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'

import {afterEach, expect, it} from 'vitest'

import {loadCatalog} from '../../src/catalog/load.js'

const made: string[] = []
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, {force: true, recursive: true})
})

function catalogIn(parent: string): string {
  const root = mkdtempSync(join(parent, '.idp-load-'))
  made.push(root)
  mkdirSync(join(root, 'entities', 'svc'), {recursive: true})
  writeFileSync(join(root, 'entities', 'svc', 'a.json'), JSON.stringify({$schema: 'x', identifier: 'a'}))
  writeFileSync(join(root, 'top.json'), JSON.stringify({blueprint: 'other', identifier: 'b'}))
  return root
}

it('names files relative to the working directory inside it, absolute outside it', async () => {
  const inside = catalogIn(process.cwd())
  const near = await loadCatalog(inside)
  expect(near.entities.map((entity) => entity.file)).toEqual([
    join(relative(process.cwd(), inside), 'entities', 'svc', 'a.json'),
    join(relative(process.cwd(), inside), 'top.json'),
  ])
  const relativeRoot = await loadCatalog(`./${relative(process.cwd(), inside)}/`)
  expect(relativeRoot.entities.map((entity) => entity.file)).toEqual(near.entities.map((entity) => entity.file))

  const outside = catalogIn(tmpdir())
  const far = await loadCatalog(outside)
  expect(far.entities.map((entity) => entity.file)).toEqual([
    join(outside, 'entities', 'svc', 'a.json'),
    join(outside, 'top.json'),
  ])
  // The editor hint is not part of the entity; the folder names its blueprint unless it says one.
  expect(far.entities.map((entity) => entity.value)).toEqual([
    {blueprint: 'svc', identifier: 'a'},
    {blueprint: 'other', identifier: 'b'},
  ])
})
