import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {SqliteStore} from '../../src/portal/store/sqlite-store.js'
import type {StoredEntity} from '../../src/portal/store/store.js'
import {tempDir} from '../helpers/portal.js'

const entity = (identifier: string, relations: StoredEntity['relations'] = {}): StoredEntity => ({
  blueprint: 'svc',
  identifier,
  properties: {},
  relations,
  team: [],
})

describe('SqliteStore', () => {
  let store: SqliteStore
  beforeEach(() => {
    store = SqliteStore.open(tempDir())
  })
  afterEach(() => store.close())

  it('rolls back everything a failed transaction wrote', async () => {
    await expect(
      store.transaction(async () => {
        await store.putEntity(entity('a'), {})
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(await store.getEntity('svc', 'a')).toBeUndefined()
  })

  it('serialises concurrent transactions', async () => {
    const order: string[] = []
    const slow = store.transaction(async () => {
      order.push('slow:start')
      await new Promise((resolve) => setTimeout(resolve, 20))
      await store.putEntity(entity('slow'), {})
      order.push('slow:end')
    })
    const fast = store.transaction(async () => {
      order.push('fast')
      await store.putEntity(entity('fast'), {})
    })
    await Promise.all([slow, fast])
    expect(order).toEqual(['slow:start', 'slow:end', 'fast'])
  })

  it('indexes relations both ways and replaces them on update', async () => {
    await store.putEntity(entity('a', {deps: ['b', 'c'], owner: 'team-x'}), {deps: 'svc', owner: 'team'})
    expect(await store.relatedTo({blueprint: 'svc', identifier: 'a'})).toEqual([
      {blueprint: 'svc', identifier: 'b'},
      {blueprint: 'svc', identifier: 'c'},
      {blueprint: 'team', identifier: 'team-x'},
    ])
    expect(await store.dependents({blueprint: 'svc', identifier: 'c'})).toEqual([
      {blueprint: 'svc', identifier: 'a', relation: 'deps'},
    ])
    await store.putEntity(entity('a', {deps: ['b']}), {deps: 'svc'})
    expect(await store.dependents({blueprint: 'svc', identifier: 'c'})).toEqual([])
    await store.deleteEntity('svc', 'a')
    expect(await store.dependents({blueprint: 'svc', identifier: 'b'})).toEqual([])
  })

  it('scans in a stable order that survives updates and resumes after a cursor', async () => {
    for (const id of ['a', 'b', 'c', 'd']) await store.putEntity(entity(id), {})
    await store.putEntity({...entity('a'), title: 'changed'}, {})
    const first = await store.scanEntities({blueprint: 'svc', limit: 2})
    expect(first.map((row) => row.entity.identifier)).toEqual(['a', 'b'])
    const rest = await store.scanEntities({after: first.at(-1)!.seq, blueprint: 'svc', limit: 10})
    expect(rest.map((row) => row.entity.identifier)).toEqual(['c', 'd'])
    expect(await store.countEntities('svc')).toBe(4)
    expect(await store.existingEntities('svc', ['a', 'z', 'a'])).toEqual(new Set(['a']))
  })

  it('keeps tokens and returns the live one for a client', async () => {
    await store.saveToken({clientId: 'c', expiresAt: 1_000, token: 'old'})
    await store.saveToken({clientId: 'c', expiresAt: Date.now() + 60_000, token: 'new'})
    expect((await store.liveToken('c', Date.now()))?.token).toBe('new')
    expect(await store.getToken('nope')).toBeUndefined()
  })
})
