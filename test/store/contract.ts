import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import type {Action, AuditFilter, AuditRecord, Blueprint, Entity, Run} from '../../src/model/port.js'
import type {Store, StoredEntity} from '../../src/portal/store/store.js'

/**
 * What every portal store must do, whatever it keeps data in: a second backend (PostgreSQL for a
 * shared portal) runs this same suite. `open` gives a fresh, empty store; `reopen` the same data
 * through a new store (as after a restart).
 */
export function storeContract(name: string, open: () => Promise<{store: Store; reopen: () => Promise<Store>}>) {
  describe(`${name}: the store contract`, () => {
    let store: Store
    let reopen: () => Promise<Store>
    beforeEach(async () => {
      ;({reopen, store} = await open())
    })
    afterEach(() => store.close())
    const tx = <T>(work: () => Promise<T>) => store.transaction(work)

    it('rolls back everything a failed transaction wrote', async () => {
      await expect(
        tx(async () => {
          await store.putEntity(entity('a'), {})
          throw new Error('boom')
        }),
      ).rejects.toThrow('boom')
      expect(await store.getEntity('svc', 'a')).toBeUndefined()
    })

    it('writes in flight at once each keep or lose only their own changes', async () => {
      const results = await Promise.allSettled([
        tx(() => store.putEntity(entity('kept-1'), {})),
        tx(async () => {
          await store.putEntity(entity('lost'), {})
          throw new Error('boom')
        }),
        tx(() => store.putEntity(entity('kept-2'), {})),
      ])
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
      expect(await store.existingEntities('svc', ['kept-1', 'lost', 'kept-2'])).toEqual(new Set(['kept-1', 'kept-2']))
    })

    it('serialises transactions', async () => {
      const order: string[] = []
      const slow = tx(async () => {
        order.push('slow:start')
        await new Promise((resolve) => setTimeout(resolve, 20))
        await store.putEntity(entity('slow'), {})
        order.push('slow:end')
      })
      const fast = tx(async () => {
        order.push('fast')
        await store.putEntity(entity('fast'), {})
      })
      await Promise.all([slow, fast])
      expect(order).toEqual(['slow:start', 'slow:end', 'fast'])
    })

    it('reads outside a transaction never see its uncommitted writes, nor a rolled-back one', async () => {
      let release!: () => void
      const held = new Promise<void>((resolve) => (release = resolve))
      let wrote!: () => void
      const written = new Promise<void>((resolve) => (wrote = resolve))
      const writing = tx(async () => {
        await store.putEntity(entity('pending'), {})
        expect(await store.getEntity('svc', 'pending')).toBeDefined() // its own writes, it sees
        wrote()
        await held
        throw new Error('rolled back')
      }).catch(() => undefined)
      await written
      expect(await store.getEntity('svc', 'pending')).toBeUndefined()
      expect(await store.countEntities('svc')).toBe(0)
      release()
      await writing
      expect(await store.getEntity('svc', 'pending')).toBeUndefined()
    })

    it('refuses writes outside a transaction', async () => {
      await expect(store.putEntity(entity('loose'), {})).rejects.toThrow()
    })

    it('indexes relations both ways and replaces them on update', async () => {
      await tx(() => store.putEntity(entity('a', {deps: ['b', 'c'], owner: 'team-x'}), {deps: 'svc', owner: 'team'}))
      expect(await store.relatedTo({blueprint: 'svc', identifier: 'a'})).toEqual([
        {blueprint: 'svc', identifier: 'b'},
        {blueprint: 'svc', identifier: 'c'},
        {blueprint: 'team', identifier: 'team-x'},
      ])
      expect(await store.dependents({blueprint: 'svc', identifier: 'c'})).toEqual([
        {blueprint: 'svc', identifier: 'a', relation: 'deps'},
      ])
      await tx(() => store.putEntity(entity('a', {deps: ['b']}), {deps: 'svc'}))
      expect(await store.dependents({blueprint: 'svc', identifier: 'c'})).toEqual([])
      await tx(() => store.deleteEntity('svc', 'a'))
      expect(await store.dependents({blueprint: 'svc', identifier: 'b'})).toEqual([])
    })

    it('unlinks removed targets row by row, keeping the source’s other relations', async () => {
      await tx(() => store.putEntity(entity('a', {deps: ['b', 'c', 'd'], owner: 'x'}), {deps: 'svc', owner: 'team'}))
      const removed = [
        {relation: 'deps', target: {blueprint: 'svc', identifier: 'b'}},
        {relation: 'deps', target: {blueprint: 'svc', identifier: 'c'}},
      ]
      await tx(() => store.unlinkEntity(entity('a', {deps: ['d'], owner: 'x'}), removed))
      expect(await store.relatedTo({blueprint: 'svc', identifier: 'a'})).toEqual([
        {blueprint: 'svc', identifier: 'd'},
        {blueprint: 'team', identifier: 'x'},
      ])
      expect((await store.getEntity('svc', 'a'))?.relations).toEqual({deps: ['d'], owner: 'x'})
    })

    it('scans in a stable order that survives updates and resumes after a cursor', async () => {
      await tx(async () => {
        for (const id of ['a', 'b', 'c', 'd']) await store.putEntity(entity(id), {})
        await store.putEntity({...entity('a'), title: 'changed'}, {})
      })
      const every = {all: []}
      const identifiers = (rows: {json: string}[]) => rows.map((row) => (JSON.parse(row.json) as Entity).identifier)
      const first = await store.searchEntities({blueprint: 'svc', filter: every, limit: 2})
      expect(identifiers(first)).toEqual(['a', 'b'])
      const rest = await store.searchEntities({after: first.at(-1)!.seq, blueprint: 'svc', filter: every, limit: 10})
      expect(identifiers(rest)).toEqual(['c', 'd'])
      expect(await store.countEntities('svc')).toBe(4)
      expect(await store.existingEntities('svc', ['a', 'z', 'a'])).toEqual(new Set(['a']))
    })

    it('deletes a credential; a token key is there from the start and stays', async () => {
      await tx(() =>
        store.createCredential({clientId: 'c', clientSecret: 's', createdAt: '2026-01-01T00:00:00Z', role: 'agent'}),
      )
      expect((await store.getCredential('c'))?.role).toBe('agent')
      expect(await tx(() => store.deleteCredential('c'))).toBe(true)
      expect(await store.getCredential('c')).toBeUndefined()
      expect(await tx(() => store.deleteCredential('c'))).toBe(false)
      const key = await store.tokenKey()
      expect(key.length).toBeGreaterThanOrEqual(32)
      await store.close()
      store = await reopen()
      expect(await store.tokenKey()).toEqual(key)
    })

    it('claims a queued run for one claimer at a time, again once the claim lapses, never an ended run', async () => {
      await tx(async () => {
        await store.putRun(run('r_open', 'IN_PROGRESS'))
        await store.putRun(run('r_ended', 'SUCCESS'))
        for (const runId of ['r_open', 'r_ended'])
          await store.putDispatch({attempts: 0, availableAt: 0, runId, state: 'queued'})
      })
      const claim = (now: number, installationId: string) =>
        tx(() => store.claimDispatches({installationId, limit: 10, now, until: now + 1000}))
      const [first, second] = await Promise.all([claim(100, 'a'), claim(100, 'b')])
      expect([...first!, ...second!].map((d) => d.runId)).toEqual(['r_open'])
      expect((await store.getDispatch('r_ended'))?.state).toBe('done')
      expect(await claim(500, 'c')).toEqual([])
      const again = await claim(2000, 'c')
      expect(again).toMatchObject([{claimedUntil: 3000, installationId: 'c', runId: 'r_open', state: 'claimed'}])
    })

    it('leases each due delivery to one claimer until the lease lapses; renewed, released or rewritten leases', async () => {
      await tx(async () => {
        for (const [runId, availableAt] of [
          ['r_late', 300],
          ['r_first', 100],
          ['r_second', 200],
          ['r_future', 5000],
        ] as const)
          await store.putDispatch({attempts: 0, availableAt, runId, state: 'pending'})
        await store.putDispatch({attempts: 0, availableAt: 0, runId: 'r_queued', state: 'queued'})
      })
      const claim = async (owner: string, now: number, limit = 10) =>
        (await tx(() => store.claimDueDeliveries({limit, now, owner, until: now + 1000}))).map((d) => d.runId)
      const [a, b] = await Promise.all([claim('a', 1000, 2), claim('b', 1000)])
      expect([a, b]).toEqual([['r_first', 'r_second'], ['r_late']])
      expect(await claim('c', 1500)).toEqual([])
      // Claimable again once the leases lapse (r_future is due later).
      expect(await store.nextDispatchAt()).toBe(2001)
      await tx(() => store.renewLeases({deliveries: ['r_first', 'r_late'], events: [], owner: 'a', until: 9000}))
      expect(await claim('c', 2500)).toEqual(['r_second', 'r_late'])
      // Writing a delivery's next state (a retry here) ends its lease.
      const second = (await store.getDispatch('r_second'))!
      await tx(() => store.putDispatch({...second, attempts: 1, availableAt: 2500}))
      expect(await claim('d', 2600)).toEqual(['r_second'])
      await tx(() => store.releaseLeases('c'))
      expect(await claim('e', 2600)).toEqual(['r_late'])
      await tx(() => store.releaseLeases())
      expect(await claim('f', 2700)).toEqual(['r_first', 'r_late', 'r_second'])
      expect((await store.getDispatch('r_queued'))?.state).toBe('queued')
    })

    it('leases each automation event to one evaluator until the lease lapses; deleting says if it was there', async () => {
      await tx(async () => {
        for (const automation of ['x', 'y', 'z'])
          await store.queueAutomationEvent({automation, depth: 1, event: {automation}})
      })
      const claim = (owner: string, now: number, limit = 10) =>
        tx(() => store.claimAutomationEvents({limit, now, owner, until: now + 1000}))
      const names = (events: {automation: string}[]) => events.map((event) => event.automation)
      const first = await claim('a', 1000, 2)
      expect(first).toMatchObject([
        {automation: 'x', depth: 1, event: {automation: 'x'}},
        {automation: 'y', depth: 1, event: {automation: 'y'}},
      ])
      expect(names(await claim('b', 1000))).toEqual(['z'])
      expect(await claim('c', 1500)).toEqual([])
      await tx(() => store.renewLeases({deliveries: [], events: [first[0]!.seq], owner: 'a', until: 9000}))
      expect(names(await claim('c', 2500))).toEqual(['y', 'z'])
      expect(await tx(() => store.deleteAutomationEvent(first[1]!.seq))).toBe(true)
      expect(await tx(() => store.deleteAutomationEvent(first[1]!.seq))).toBe(false)
      await tx(() => store.releaseLeases('a'))
      expect(names(await claim('d', 2600))).toEqual(['x'])
    })

    it('fires each due timer once, soonest first', async () => {
      await tx(async () => {
        await store.setTimers('svc', 'a', [{blueprint: 'svc', entity: 'a', expiresAt: 200, property: 'ttl'}])
        await store.setTimers('svc', 'b', [{blueprint: 'svc', entity: 'b', expiresAt: 100, property: 'ttl'}])
        await store.setTimers('svc', 'c', [{blueprint: 'svc', entity: 'c', expiresAt: 9000, property: 'ttl'}])
      })
      expect(await store.nextTimerAt()).toBe(100)
      const fired = await tx(() => store.fireDueTimers(1000, 10))
      expect(fired.map((timer) => timer.entity)).toEqual(['b', 'a'])
      expect(await tx(() => store.fireDueTimers(1000, 10))).toEqual([])
      expect(await store.nextTimerAt()).toBe(9000)
    })

    it('finds audit records by every filter, newest first', async () => {
      const record = (
        identifier: string,
        at: string,
        context: AuditRecord['context'],
        resourceType: AuditRecord['resourceType'] = 'entity',
      ): AuditRecord => ({
        action: 'UPDATE',
        additionalData: {},
        context,
        diff: {after: null, before: null},
        identifier,
        resourceType,
        status: 'SUCCESS',
        trigger: {at, by: {orgId: 'o', userId: 'u'}, origin: 'API'},
      })
      await tx(() =>
        store.addAudits([
          record('a1', '2026-01-01T00:00:00.000Z', {blueprint: 'svc', entity: 'a'}),
          record('a2', '2026-01-02T00:00:00.000Z', {blueprint: 'svc', entity: 'a', runId: 'r1'}),
          record('r1', '2026-01-03T00:00:00.000Z', {action: 'act', runId: 'r1'}, 'run'),
        ]),
      )
      const ids = async (filter: Partial<AuditFilter>) =>
        (await store.audits({limit: 10, ...filter})).map((found) => found.identifier)
      expect(await ids({})).toEqual(['r1', 'a2', 'a1'])
      expect(await ids({blueprint: 'svc', entity: 'a'})).toEqual(['a2', 'a1'])
      expect(await ids({runId: 'r1'})).toEqual(['r1', 'a2'])
      expect(await ids({resources: ['run']})).toEqual(['r1'])
      expect(await ids({from: '2026-01-02T00:00:00.000Z', to: '2026-01-02T12:00:00.000Z'})).toEqual(['a2'])
      expect(await ids({identifier: 'a1'})).toEqual(['a1'])
      expect(await ids({limit: 1})).toEqual(['r1'])
    })

    it('picks out automations and blueprints with inherited ownership', async () => {
      const action = (identifier: string, type: string) =>
        ({identifier, invocationMethod: {type: 'WEBHOOK', url: 'http://x'}, trigger: {type}}) as unknown as Action
      const blueprint = (identifier: string, ownership?: object) =>
        ({identifier, schema: {properties: {}}, ...(ownership ? {ownership} : {})}) as unknown as Blueprint
      await tx(async () => {
        for (const item of [action('a', 'automation'), action('b', 'self-service'), action('c', 'automation')])
          await store.putAction(item)
        await store.putBlueprint(blueprint('plain'))
        await store.putBlueprint(blueprint('direct', {type: 'Direct'}))
        await store.putBlueprint(blueprint('inherits', {path: 'up', type: 'Inherited'}))
      })
      expect((await store.listAutomations()).map((item) => item.identifier)).toEqual(['a', 'c'])
      expect((await store.inheritingBlueprints()).map((item) => item.identifier)).toEqual(['inherits'])
      await tx(() => store.putAction(action('a', 'self-service')))
      expect((await store.listAutomations()).map((item) => item.identifier)).toEqual(['c'])
    })

    it('keeps what it committed across a reopen', async () => {
      await tx(() => store.putEntity(entity('kept'), {}))
      await store.close()
      store = await reopen()
      expect((await store.getEntity('svc', 'kept'))?.identifier).toBe('kept')
    })
  })
}

const entity = (identifier: string, relations: StoredEntity['relations'] = {}): StoredEntity => ({
  blueprint: 'svc',
  identifier,
  properties: {},
  relations,
  team: [],
})

const run = (id: string, status: Run['status']): Run => ({
  action: {icon: null, identifier: 'act', title: null},
  approval: null,
  createdAt: '2026-01-01T00:00:00Z',
  createdBy: 'c',
  id,
  link: [],
  properties: {},
  requiredApproval: false,
  source: 'API',
  status,
  statusLabel: null,
  updatedAt: '2026-01-01T00:00:00Z',
  updatedBy: 'c',
})
