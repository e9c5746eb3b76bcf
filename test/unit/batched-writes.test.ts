import {expect, it} from 'vitest'

import {batchedWrites} from '../../src/portal/invoke/batched-writes.js'

/** A stand-in for PortalCore.write: one transaction at a time, counted; a throwing work rolls back. */
function fakeStore() {
  const committed: string[] = []
  let transactions = 0
  let queue: Promise<unknown> = Promise.resolve()
  const write = <T>(work: () => Promise<T>): Promise<T> => {
    const run = async () => {
      transactions++
      const before = committed.length
      try {
        return await work()
      } catch (error) {
        committed.length = before
        throw error
      }
    }
    const next = queue.then(run, run)
    queue = next.catch(() => undefined)
    return next
  }
  return {committed, transactions: () => transactions, write}
}

it('runs writes that arrive together in one transaction, each answered with its own result', async () => {
  const store = fakeStore()
  const write = batchedWrites(store.write)
  const results = await Promise.all(
    ['a', 'b', 'c'].map((name) =>
      write(async () => {
        store.committed.push(name)
        return name.toUpperCase()
      }),
    ),
  )
  expect(results).toEqual(['A', 'B', 'C'])
  expect(store.committed).toEqual(['a', 'b', 'c'])
  expect(store.transactions()).toBe(1)
  await write(async () => store.committed.push('later'))
  expect(store.transactions()).toBe(2)
})

it("keeps one write's failure its own: the others are written, it alone is refused", async () => {
  const store = fakeStore()
  const write = batchedWrites(store.write)
  const outcomes = await Promise.allSettled(
    ['a', 'bad', 'c'].map((name) =>
      write(async () => {
        if (name === 'bad') throw new Error('refused')
        store.committed.push(name)
      }),
    ),
  )
  expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
  expect((outcomes[1] as PromiseRejectedResult).reason).toEqual(new Error('refused'))
  expect(store.committed).toEqual(['a', 'c'])
})

it('runs a lone failing write once', async () => {
  const store = fakeStore()
  const write = batchedWrites(store.write)
  let runs = 0
  await expect(
    write(async () => {
      runs++
      throw new Error('no')
    }),
  ).rejects.toThrow('no')
  expect(runs).toBe(1)
})
