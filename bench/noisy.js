// Noisy neighbour: how slow the portal gets for everyone else while one member sends heavy
// requests. p99 of GET /v1/blueprints and of token issuing, idle and under each load, in one run.
import {once} from 'node:events'
import {Worker} from 'node:worker_threads'

import {freshPortal, percentile, row} from './lib.js'

const PROBES = 300
const TARGET_RATIO = 5
const TARGET_MS = 250

export async function benchNoisy() {
  const portal = await freshPortal()
  const {api, url} = portal
  const member = (await api('POST', '/v1/idp/credentials', {role: 'member'})).credential
  const memberToken = (await login(url, member)).accessToken

  await api('POST', '/v1/blueprints', {
    identifier: 'svc',
    relations: {deps: {many: true, required: false, target: 'svc'}},
    schema: {properties: {code: {pattern: '^(a+)+$', type: 'string'}, tier: {type: 'string'}}},
    title: 'Service',
  })
  for (let start = 0; start < 10_000; start += 20) {
    const entities = Array.from({length: 20}, (_, i) => ({identifier: `e${start + i}`, properties: {tier: 'gold'}}))
    await api('POST', '/v1/blueprints/svc/entities/bulk', {entities})
  }
  const probe = async (count = PROBES) => {
    const reads = []
    const logins = []
    for (let i = 0; i < count; i++) {
      let started = performance.now()
      await api('GET', '/v1/blueprints')
      reads.push(performance.now() - started)
      started = performance.now()
      await login(url, member)
      logins.push(performance.now() - started)
    }
    return {login: percentile(logins, 99), read: percentile(reads, 99)}
  }
  /** Runs a member's load in a worker until the probe is done. */
  const under = async ({name, parallel = 1}) => {
    const worker = new Worker(new URL('noisy-load.js', import.meta.url), {
      workerData: {load: name, parallel, token: memberToken, url},
    })
    await once(worker, 'message')
    const result = await probe()
    worker.postMessage('stop')
    await once(worker, 'exit')
    return result
  }

  await probe(100) // warms both ends up (JIT, connections), so that idle is not its first requests
  const idle = await probe()
  const loads = {
    'bulk deletes of a hub’s 1,000 relation targets': {name: 'deletes'},
    '50 concurrent searches over 10k entities': {name: 'searches', parallel: 50},
    'entity writes against a pathological pattern': {name: 'pattern'},
    'an automation condition that runs to its jq limit': {
      name: 'condition',
      setup: () =>
        api('POST', '/v1/actions', {
          identifier: 'slow_condition',
          invocationMethod: {type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
          trigger: {
            condition: {expressions: ['[range(1e9)] | length > 0'], type: 'JQ'},
            event: {blueprintIdentifier: 'svc', type: 'ENTITY_UPDATED'},
            type: 'automation',
          },
        }),
    },
  }
  row('noisy neighbour: idle p99 GET /v1/blueprints / token', `${ms(idle.read)} / ${ms(idle.login)}`)
  // IDP_BENCH_NOISY=searches,deletes picks some loads (deletes, searches, pattern, condition).
  const picked = process.env.IDP_BENCH_NOISY?.split(',')
  for (const [name, load] of Object.entries(loads)) {
    if (picked && !picked.includes(load.name)) continue
    await load.setup?.()
    const busy = await under(load)
    const worst = Math.max(busy.read / idle.read, busy.login / idle.login)
    const ok = worst <= TARGET_RATIO && Math.max(busy.read, busy.login) <= TARGET_MS
    row(
      `  under ${name}`,
      `${ms(busy.read)} / ${ms(busy.login)} (${worst.toFixed(1)}x idle; target ≤ ${TARGET_RATIO}x and ≤ ${TARGET_MS} ms) ${ok ? 'ok' : 'MISSED'}`,
    )
  }
  portal.stop()
}

const ms = (value) => `${value.toFixed(1)} ms`

const login = (url, {clientId, clientSecret}) =>
  fetch(`${url}/v1/auth/access_token`, {
    body: JSON.stringify({clientId, clientSecret}),
    headers: {'content-type': 'application/json'},
    method: 'POST',
  }).then((response) => response.json())
