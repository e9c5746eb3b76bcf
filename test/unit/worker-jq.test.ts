import {afterEach, describe, expect, it, vi} from 'vitest'

import {WorkerJq} from '../../src/jq/worker-engine.js'

describe('WorkerJq', () => {
  let jq: WorkerJq | undefined
  afterEach(async () => {
    vi.useRealTimers()
    await jq?.close()
  })

  it("starts an expression's time limit once jq has loaded, not while the worker starts", async () => {
    vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout']})
    jq = new WorkerJq(100)
    const answer = jq.first('.a + 1', {a: 1})
    // Any time at all passes while the worker loads jq: the call's limit has not started.
    vi.advanceTimersByTime(10_000)
    await expect(answer).resolves.toBe(2)
  })

  it('stops a runaway expression and answers the calls queued behind it', async () => {
    jq = new WorkerJq()
    const runaway = jq.first('def f: f; f', null)
    const queued = jq.first('.x + "!"', {x: 'after'})
    await expect(runaway).rejects.toMatchObject({kind: 'timeout'})
    await expect(queued).resolves.toBe('after!')
    await expect(jq.first('. + 1', 1)).resolves.toBe(2)
  })
})
