// A team portal: several `idp portal serve` processes on one PostgreSQL database.
// - mixed load (entity writes that set timers, searches, runs for agents, webhook runs) through two
//   processes against the same through one, with agents claiming runs from every process and a
//   webhook receiver counting deliveries; SQLite's one process runs the same load for its numbers;
// - kill -9 of one of two processes while 2,000 queued runs are claimed and 1,000 timers expire.
// PostgreSQL runs on the bench's own cluster with fsync on (postgres.js).
import {createServer} from 'node:http'

import pg from 'pg'
import {Pool} from 'undici'

import {freshDatabase} from './postgres.js'
import {BIN, freshPortal, median, percentile, row, startServer} from './lib.js'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** `count` portal processes on one store (their own SQLite data dir when `url` is undefined). */
async function servePortals(count, url) {
  const serveArgs = url ? ['--store', 'postgres', '--database-url', url] : []
  const first = await freshPortal({serveArgs})
  const portals = [{child: first.child, url: first.url}]
  for (let index = 1; index < count; index++) {
    const {child, ready} = await startServer([BIN, 'portal', 'serve', '--port', '0', '--json', ...serveArgs], {
      IDP_CONFIG_DIR: first.configDir,
    })
    portals.push({child, url: ready.url})
  }
  const clients = portals.map((portal) => client(portal.url, first.token))
  return {
    clients,
    portals,
    async stop() {
      for (const portal of portals) portal.child.kill('SIGTERM')
      await Promise.all(clients.map((api) => api.close()))
    },
  }
}

/** A JSON API on one process: resolves {status, body}; a refused connection answers status 0. */
function client(url, token) {
  const pool = new Pool(url, {connections: 16})
  const api = async (method, path, body) => {
    try {
      const response = await pool.request({
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
        method,
        path,
      })
      const text = await response.body.text()
      return {body: text ? JSON.parse(text) : undefined, status: response.statusCode}
    } catch {
      return {body: undefined, status: 0}
    }
  }
  api.close = () => pool.destroy()
  return api
}

/** A webhook receiver that counts deliveries per run. */
async function receiver() {
  const deliveries = new Map()
  const server = createServer((request, response) => {
    const chunks = []
    request.on('data', (chunk) => chunks.push(chunk))
    request.on('end', () => {
      const {run} = JSON.parse(Buffer.concat(chunks).toString())
      deliveries.set(run, (deliveries.get(run) ?? 0) + 1)
      response.writeHead(200, {'content-type': 'application/json'}).end('{}')
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {close: () => server.close(), deliveries, url: `http://127.0.0.1:${server.address().port}`}
}

/** Blueprints and actions: `box` entities with a timer, agent-queue jobs and timer runs, a webhook. */
async function setUp(api, hookUrl) {
  const calls = [
    [
      'POST',
      '/v1/blueprints',
      {
        identifier: 'box',
        schema: {properties: {size: {type: 'number'}, ttl: {format: 'timer', type: 'string'}}},
        title: 'Box',
      },
    ],
    [
      'POST',
      '/v1/actions',
      {
        identifier: 'job',
        invocationMethod: {payload: {}, type: 'KAFKA'},
        trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
      },
    ],
    [
      'POST',
      '/v1/actions',
      {
        identifier: 'expire',
        invocationMethod: {payload: {box: '{{ .event.context.entityIdentifier }}'}, type: 'KAFKA'},
        trigger: {
          event: {blueprintIdentifier: 'box', propertyIdentifier: 'ttl', type: 'TIMER_PROPERTY_EXPIRED'},
          type: 'automation',
        },
      },
    ],
  ]
  if (hookUrl) {
    calls.push([
      'POST',
      '/v1/actions',
      {
        identifier: 'hook',
        invocationMethod: {body: {run: '{{ .run.id }}'}, type: 'WEBHOOK', url: hookUrl},
        trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
      },
    ])
  }
  for (const [method, path, body] of calls) {
    const answer = await api(method, path, body)
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`)
  }
}

/**
 * An agent claiming from every live process in turn and acknowledging what it got, until `done()`.
 * Counts how often each run was handed to it.
 */
function agent(clients, handed, done, {visibilityTimeoutMs = 60_000} = {}) {
  let stopped = false
  const loop = async (installationId) => {
    for (let turn = 0; !stopped && !done(); turn++) {
      const api = clients[turn % clients.length]
      const claimed = await api('POST', '/v1/actions/runs/claim-pending', {
        installationId,
        limit: 50,
        visibilityTimeoutMs,
      })
      const runs = claimed.body?.runs ?? []
      for (const run of runs) {
        const count = (handed.get(run.id)?.count ?? 0) + 1
        handed.set(run.id, {action: run.action.identifier, box: run.payload?.body?.box, count})
      }
      if (runs.length) await api('PATCH', '/v1/actions/runs/ack', {runIds: runs.map((run) => run.id)})
      else await sleep(50)
    }
  }
  const running = Promise.all([loop('agent-a'), loop('agent-b')])
  return async () => {
    stopped = true
    await running
  }
}

const MIX = {hooks: 100, jobs: 150, searches: 150, writes: 300}

/** The mixed load through `processes` processes: ms until every run, timer and delivery is done. */
async function mixedRun(processes, url) {
  const team = await servePortals(processes, url)
  const hooks = await receiver()
  const [api] = team.clients
  await setUp(api, `${hooks.url}/hook`)
  const searchable = Array.from({length: 50}, (_, index) => ({identifier: `seed-${index}`, properties: {size: index}}))
  for (let start = 0; start < searchable.length; start += 20)
    await api('POST', '/v1/blueprints/box/entities/bulk', {entities: searchable.slice(start, start + 20)})

  const ops = []
  for (let index = 0; index < MIX.writes; index++) ops.push(['write', index])
  for (let index = 0; index < MIX.searches; index++) ops.push(['search', index])
  for (let index = 0; index < MIX.jobs; index++) ops.push(['job', index])
  for (let index = 0; index < MIX.hooks; index++) ops.push(['hook', index])
  ops.sort((a, b) => ((a[1] * 7919 + a[0].length) % 997) - ((b[1] * 7919 + b[0].length) % 997))

  const handed = new Map()
  const wanted = MIX.jobs + MIX.writes
  const stopAgent = agent(team.clients, handed, () => handed.size >= wanted)
  const started = performance.now()
  let next = 0
  let failed = 0
  const worker = async (slot) => {
    while (next < ops.length) {
      const [kind, index] = ops[next++]
      const on = team.clients[(slot + index) % team.clients.length]
      const answer = await {
        hook: () => on('POST', '/v1/actions/hook/runs', {properties: {}}),
        job: () => on('POST', '/v1/actions/job/runs', {properties: {}}),
        search: () =>
          on('POST', '/v1/blueprints/box/entities/search', {
            limit: 10,
            query: {combinator: 'and', rules: [{operator: '>=', property: 'size', value: index % 40}]},
          }),
        write: () =>
          on('POST', '/v1/blueprints/box/entities', {
            identifier: `box-${index}`,
            properties: {size: index, ttl: new Date(Date.now() + 200).toISOString()},
          }),
      }[kind]()
      if (answer.status >= 300 || answer.status === 0) failed++
    }
  }
  await Promise.all(Array.from({length: 16}, (_, slot) => worker(slot)))
  const deadline = Date.now() + 120_000
  while ((handed.size < wanted || hooks.deliveries.size < MIX.hooks) && Date.now() < deadline) await sleep(20)
  const ms = performance.now() - started
  await stopAgent()
  const counts = {
    duplicatedDeliveries: [...hooks.deliveries.values()].filter((count) => count > 1).length,
    duplicatedRuns: [...handed.values()].filter((run) => run.count > 1).length,
    failed,
    lostDeliveries: MIX.hooks - hooks.deliveries.size,
    lostRuns: MIX.jobs - [...handed.values()].filter((run) => run.action === 'job').length,
    lostTimers:
      MIX.writes - new Set([...handed.values()].filter((run) => run.action === 'expire').map((run) => run.box)).size,
  }
  await team.stop()
  hooks.close()
  return {counts, ms}
}

export async function benchTeam(rounds = 2) {
  const ops = MIX.writes + MIX.searches + MIX.jobs + MIX.hooks
  const runs = MIX.jobs + MIX.hooks + MIX.writes
  const variants = {
    'postgres, 1 process': [1, 'postgres'],
    'postgres, 2 processes': [2, 'postgres'],
    'sqlite, 1 process': [1],
  }
  const samples = Object.fromEntries(Object.keys(variants).map((name) => [name, []]))
  const counts = {}
  for (let round = 0; round < rounds; round++) {
    for (const [name, [processes, store]] of Object.entries(variants)) {
      const result = await mixedRun(processes, store ? await freshDatabase() : undefined)
      samples[name].push(result.ms)
      for (const [key, value] of Object.entries(result.counts))
        counts[`${name}: ${key}`] = (counts[`${name}: ${key}`] ?? 0) + value
    }
  }
  console.log(
    `\n## Mixed load: ${MIX.writes} entity writes setting timers, ${MIX.searches} searches, ${MIX.jobs} agent runs, ${MIX.hooks} webhook runs, 16 in flight (median of ${rounds})`,
  )
  const ms = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]))
  for (const [name] of Object.entries(variants)) {
    const lost = (key) => counts[`${name}: ${key}`]
    row(
      name,
      `${ms[name].toFixed(0)} ms: ${Math.round(ops / (ms[name] / 1000))} requests/s, ${Math.round(runs / (ms[name] / 1000))} runs/s, ${Math.round(MIX.writes / (ms[name] / 1000))} timers/s`,
    )
    row(
      '  lost / duplicated: agent runs, timer runs, webhook deliveries',
      `${lost('lostRuns')}/${lost('duplicatedRuns')}, ${lost('lostTimers')}/-, ${lost('lostDeliveries')}/${lost('duplicatedDeliveries')}  (failed requests ${lost('failed')}, over ${rounds} rounds)`,
    )
  }
  const ratio = ms['postgres, 1 process'] / ms['postgres, 2 processes']
  row('postgres: 2 processes / 1 process throughput', `${ratio.toFixed(2)}x  (target ≥ 0.9x)`)
  return {counts, ms, ratio}
}

const KILL_RUNS = 2000
const KILL_TIMERS = 1000

/**
 * Two processes; 2,000 agent runs queued and 1,000 boxes whose timers expire over the next
 * seconds, then more writes while agents claim through both; one process is killed (SIGKILL)
 * halfway. Counts, from the agents and from the database, what came through.
 */
export async function benchKill() {
  const url = await freshDatabase()
  const team = await servePortals(2, url)
  const [a, b] = team.clients
  await setUp(a)
  const expiry = Date.now() + 8000
  const queue = async (count, send) => {
    let next = 0
    await Promise.all(
      Array.from({length: 16}, async (_, slot) => {
        while (next < count) {
          const index = next++
          const answer = await send(slot % 2 ? a : b, index)
          if (answer.status >= 300) throw new Error(`HTTP ${answer.status}: ${JSON.stringify(answer.body)}`)
        }
      }),
    )
  }
  await queue(KILL_RUNS, (api) => api('POST', '/v1/actions/job/runs', {properties: {}}))
  await queue(KILL_TIMERS, (api, index) =>
    api('POST', '/v1/blueprints/box/entities', {
      identifier: `box-${index}`,
      properties: {size: 0, ttl: new Date(expiry + (index % 50) * 40).toISOString()},
    }),
  )

  // Agents claim through both; claims lapse after 5 s, so those the killed process took over are
  // handed out again. Writes keep coming through both; those answered 2xx are committed.
  const handed = new Map()
  const stopAgent = agent(team.clients, handed, () => handed.size >= KILL_RUNS + KILL_TIMERS, {
    visibilityTimeoutMs: 5000,
  })
  const committed = new Set()
  let writing = true
  const writer = (async () => {
    for (let index = 0; writing; index++) {
      const answer = await (index % 2 ? a : b)('PUT', `/v1/blueprints/box/entities/box-${index % KILL_TIMERS}`, {
        identifier: `box-${index % KILL_TIMERS}`,
        properties: {size: index, ttl: new Date(expiry + ((index % KILL_TIMERS) % 50) * 40).toISOString()},
      })
      if (answer.status === 200) committed.add(index)
    }
  })()
  while (handed.size < KILL_RUNS / 2) await sleep(10)
  team.portals[1].child.kill('SIGKILL')
  const killedAt = {handed: handed.size, writes: committed.size}
  const deadline = Date.now() + 120_000
  while (handed.size < KILL_RUNS + KILL_TIMERS && Date.now() < deadline) await sleep(50)
  writing = false
  await writer
  await stopAgent()

  // What the database holds: every committed write's last value, each timer's firings.
  const db = new pg.Client({connectionString: url})
  await db.connect()
  const sizes = new Map(
    (
      await db.query(
        "SELECT identifier, (data #>> '{properties,size}')::int AS size FROM entities WHERE blueprint = 'box'",
      )
    ).rows.map((entity) => [entity.identifier, entity.size]),
  )
  const lastWrite = new Map([...committed].map((index) => [`box-${index % KILL_TIMERS}`, index]))
  const lostWrites = [...lastWrite].filter(([box, index]) => (sizes.get(box) ?? -1) < index).length
  const firings = (
    await db.query(
      "SELECT data #>> '{payload,body,box}' AS box, count(*)::int AS n FROM runs WHERE action = 'expire' GROUP BY 1",
    )
  ).rows
  await db.end()
  await team.stop()

  const jobs = [...handed.values()].filter((run) => run.action === 'job')
  console.log(
    `\n## kill -9 of one of two processes (PostgreSQL): ${KILL_RUNS} queued agent runs, ${KILL_TIMERS} expiring timers, writes through both`,
  )
  row('killed after', `${killedAt.handed} runs handed to agents, ${killedAt.writes} writes committed`)
  row('agent runs delivered (at least once) / of', `${jobs.length} / ${KILL_RUNS}`)
  row(
    '  handed out more than once (a claim the killed process took, after it lapsed)',
    `${jobs.filter((run) => run.count > 1).length}`,
  )
  row(
    'timers fired once / twice or more / never',
    `${firings.filter((box) => box.n === 1).length} / ${firings.filter((box) => box.n > 1).length} / ${KILL_TIMERS - firings.length}`,
  )
  row('committed writes lost', `${lostWrites} of ${committed.size}`)
  return {firings, jobs: jobs.length, lostWrites}
}

const WAKES = 50

/**
 * A watcher long-polling a run on process B, the run patched through process A: how long after A
 * answers the PATCH B answers the watcher (LISTEN/NOTIFY; target within 100 ms).
 */
export async function benchWake() {
  const team = await servePortals(2, await freshDatabase())
  const [a, b] = team.clients
  try {
    await setUp(a)
    const created = await a('POST', '/v1/actions/job/runs', {properties: {}})
    const id = created.body.run.id
    // Queued for an agent, the run changes only when patched.
    let run
    do run = (await b('GET', `/v1/actions/runs/${id}`)).body.run
    while (!run.pendingExecution)
    const latencies = []
    for (let index = 0; index < WAKES; index++) {
      const since = encodeURIComponent(run.updatedAt)
      let wokeAt = 0
      const watching = b('GET', `/v1/actions/runs/${id}?idp_wait=30&idp_since=${since}`).then((answer) => {
        wokeAt = performance.now()
        return answer
      })
      await sleep(50) // the watcher is waiting on B
      const patched = await a('PATCH', `/v1/actions/runs/${id}`, {statusLabel: `step ${index}`})
      const answeredAt = performance.now()
      if (patched.status !== 200) throw new Error(`PATCH: ${patched.status} ${JSON.stringify(patched.body)}`)
      run = (await watching).body.run
      if (run.statusLabel !== `step ${index}`) throw new Error(`the watcher saw ${JSON.stringify(run)}`)
      latencies.push(wokeAt - answeredAt)
    }
    console.log(`\n## Watcher wake across processes (PostgreSQL, ${WAKES} patches)`)
    row(
      'PATCH answered on A → watcher answered on B',
      `median ${median(latencies).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms  (target ≤ 100 ms)`,
    )
    return latencies
  } finally {
    await team.stop()
  }
}
