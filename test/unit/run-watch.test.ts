import {describe, expect, it} from 'vitest'

import type {PortClient} from '../../src/api/port-client.js'
import type {Run, RunLog} from '../../src/model/port.js'
import type {WatchEvent} from '../../src/model/watch.js'
import {watchRun} from '../../src/services/run-watch.js'

const run = (status: Run['status'], updatedAt: string, extra: Partial<Run> = {}): Run => ({
  action: {icon: null, identifier: 'a', title: null},
  approval: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  createdBy: 'me',
  id: 'r_1',
  link: [],
  properties: {},
  requiredApproval: false,
  source: 'API',
  status,
  statusLabel: null,
  updatedAt,
  updatedBy: 'me',
  ...extra,
})
const log = (id: string, message: string): RunLog => ({
  createdAt: `2026-01-01T00:00:0${id}.000Z`,
  createdBy: 'me',
  id,
  message,
  runId: 'r_1',
})

/** A portal like Port: answers at once, ignores the hold and sends no logs along. */
function portLike(script: (Run | Error)[], logs: RunLog[][]) {
  let clock = 0
  const pauses: number[] = []
  const calls: string[] = []
  const client = {
    runs: {
      async get(_id: string, changed?: {since?: string}) {
        calls.push(`get ${changed?.since ?? ''}`)
        const next = script.length > 1 ? script.shift()! : script[0]!
        if (next instanceof Error) throw next
        return next
      },
      async logs(_id: string, offset: number) {
        calls.push(`logs ${offset}`)
        return logs.shift() ?? []
      },
    },
  } as unknown as PortClient
  return {
    calls,
    client,
    clock: () => new Date(clock),
    pauses,
    sleep: async (ms: number) => void (pauses.push(ms), (clock += ms)),
  }
}

describe('watchRun against a portal that answers at once', () => {
  it('reports each status and each log once, reconnects after an error, and polls at an adaptive interval', async () => {
    const events: WatchEvent[] = []
    const fake = portLike(
      [
        run('IN_PROGRESS', 't1'),
        run('IN_PROGRESS', 't1'),
        new Error('socket hang up'),
        run('IN_PROGRESS', 't2', {statusLabel: 'Deploying'}),
        run('IN_PROGRESS', 't2', {statusLabel: 'Deploying'}),
        run('IN_PROGRESS', 't2', {statusLabel: 'Deploying'}),
        run('SUCCESS', 't3', {link: ['https://x'], statusLabel: 'Deploying'}),
      ],
      [[log('1', 'one')], [log('1', 'one'), log('2', 'two')], [log('3', 'three')]],
    )
    const result = await watchRun({
      client: fake.client,
      clock: fake.clock,
      onEvent: (event) => events.push(event),
      runId: 'r_1',
      sleep: fake.sleep,
    })
    expect(result.outcome).toBe('finished')
    expect(events.filter((e) => e.event === 'log').map((e) => (e as {message: string}).message)).toEqual([
      'one',
      'two',
      'three',
    ])
    expect(events.map((e) => e.event)).toEqual([
      'log',
      'status',
      'reconnecting',
      'log',
      'status',
      'log',
      'status',
      'finished',
    ])
    // Port answered a held request at once: from then on it is polled, slower while nothing changes.
    expect(fake.pauses.filter((ms) => ms >= 1000).length).toBeGreaterThan(0)
    expect(fake.pauses).toContain(1500)
  })

  it('gives up at the timeout with the run still going', async () => {
    const fake = portLike([run('IN_PROGRESS', 't1')], [])
    const result = await watchRun({
      client: fake.client,
      clock: fake.clock,
      onEvent: () => {},
      runId: 'r_1',
      sleep: fake.sleep,
      timeoutMs: 10_000,
    })
    expect(result).toMatchObject({outcome: 'timeout', run: {status: 'IN_PROGRESS'}})
    expect(fake.calls.filter((call) => call.startsWith('get')).length).toBeLessThan(10)
  })
})
