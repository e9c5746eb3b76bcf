// Noisy neighbour: how slow the portal gets for everyone else while one member sends heavy
// requests. p99 of GET /v1/blueprints and of token issuing, idle and under each load, in one run.
import {freshPortal, percentile, row} from './lib.js'

const PROBES = 300
const TARGET_RATIO = 5
const TARGET_MS = 250

export async function benchNoisy() {
  const portal = await freshPortal()
  const {api, url} = portal
  const member = (await api('POST', '/v1/idp/credentials', {role: 'member'})).credential
  const memberToken = (await login(url, member)).accessToken
  const asMember = (method, path, body) =>
    fetch(url + path, {
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: {authorization: `Bearer ${memberToken}`, 'content-type': 'application/json'},
      method,
    }).then((response) => response.json())

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
  const probe = async () => {
    const reads = []
    const logins = []
    for (let i = 0; i < PROBES; i++) {
      let started = performance.now()
      await api('GET', '/v1/blueprints')
      reads.push(performance.now() - started)
      started = performance.now()
      await login(url, member)
      logins.push(performance.now() - started)
    }
    return {login: percentile(logins, 99), read: percentile(reads, 99)}
  }
  /** Runs `load` in a loop until the probe is done. */
  const under = async (load) => {
    let stop = false
    const loops = Array.from({length: load.parallel ?? 1}, async () => {
      while (!stop) await load.run().catch(() => undefined)
    })
    await new Promise((resolve) => setTimeout(resolve, 200))
    const result = await probe()
    stop = true
    await Promise.all(loops)
    return result
  }

  const idle = await probe()
  let round = 0
  const loads = {
    'bulk deletes of a hub’s 1,000 relation targets': {
      async run() {
        const targets = Array.from({length: 100}, (_, i) => `t${round}-${i}`)
        round++
        await asMember('POST', '/v1/blueprints/svc/entities?upsert=true&create_missing_related_entities=true', {
          identifier: `hub${round % 3}`,
          relations: {deps: [...targets, ...Array.from({length: 900}, (_, i) => `e${i}`)]},
        })
        await asMember('POST', '/v1/blueprints/svc/bulk/entities/delete', {entities: targets})
      },
    },
    '50 concurrent searches over 10k entities': {
      parallel: 50,
      run: () =>
        asMember('POST', '/v1/blueprints/svc/entities/search', {
          limit: 1000,
          query: {combinator: 'and', rules: [{operator: '=', property: 'tier', value: 'gold'}]},
        }),
    },
    'entity writes against a pathological pattern': {
      run: () =>
        asMember('POST', '/v1/blueprints/svc/entities?upsert=true', {
          identifier: 'evil',
          properties: {code: 'a'.repeat(5000) + '!'},
        }),
    },
    'an automation condition that runs to its jq limit': {
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
      run: () => asMember('PATCH', `/v1/blueprints/svc/entities/e${round++ % 10_000}`, {properties: {tier: 'x'}}),
    },
  }
  row('noisy neighbour: idle p99 GET /v1/blueprints / token', `${ms(idle.read)} / ${ms(idle.login)}`)
  for (const [name, load] of Object.entries(loads)) {
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
