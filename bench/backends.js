// Run backends: how many runs a second `idp agent` claims and completes with a trivial handler,
// next to the same claim → report → ack protocol driven without handler processes (what the
// portal alone allows); and how late TIMER_PROPERTY_EXPIRED automations act with 10,000 timers.
import {spawn} from 'node:child_process'
import {createServer} from 'node:http'

import {BIN, freshPortal, percentile, row} from './lib.js'

const RUNS = Number(process.env.IDP_BENCH_AGENT_RUNS ?? 2000)
const TIMERS = Number(process.env.IDP_BENCH_TIMERS ?? 10_000)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function queueRuns(api, count) {
  const ids = []
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(
      Array.from({length: Math.min(50, count - i)}, () => api('POST', '/v1/actions/job/runs', {properties: {}})),
    )
    ids.push(...batch.map((body) => body.run.id))
  }
  // The portal queues each run for agents just after creating it.
  while ((await api('GET', `/v1/actions/runs/${ids.at(-1)}/logs`)).runLogs.length === 0) await sleep(20)
  return ids
}

async function untilDone(api) {
  for (;;) {
    const {runs} = await api('GET', '/v1/actions/runs?action=job&active=true&limit=1')
    if (runs.length === 0) return performance.now()
    await sleep(20)
  }
}

/** The agent protocol without processes: claim a batch, PATCH each SUCCESS, ack — 32 at a time. */
async function protocolOnly(api) {
  for (;;) {
    const {runs} = await api('POST', '/v1/actions/runs/claim-pending', {
      installationId: 'bench',
      limit: 32,
      visibilityTimeoutMs: 60_000,
    })
    if (runs.length === 0) {
      const active = await api('GET', '/v1/actions/runs?action=job&active=true&limit=1')
      if (active.runs.length === 0) return
      await sleep(5) // still being queued by the portal
      continue
    }
    await Promise.all(runs.map((run) => api('PATCH', `/v1/actions/runs/${run.id}`, {status: 'SUCCESS'})))
    await api('PATCH', '/v1/actions/runs/ack', {runIds: runs.map((run) => run.id)})
  }
}

async function agentThroughput() {
  const portal = await freshPortal()
  await portal.api('POST', '/v1/actions', {
    identifier: 'job',
    invocationMethod: {payload: {run: '{{ .run.id }}'}, type: 'KAFKA'},
    trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
  })
  const rates = {}
  for (const variant of ['protocol', 'agent']) {
    await queueRuns(portal.api, RUNS)
    const started = performance.now()
    if (variant === 'protocol') {
      await protocolOnly(portal.api)
    } else {
      const agent = spawn(
        process.execPath,
        [BIN, 'agent', '--handler', 'job=true', '--concurrency', '32', '--poll-interval', '50ms'],
        {env: {...process.env, IDP_CONFIG_DIR: portal.configDir}, stdio: 'ignore'},
      )
      await untilDone(portal.api)
      agent.kill('SIGTERM')
    }
    rates[variant] = RUNS / ((performance.now() - started) / 1000)
  }
  portal.stop()
  return rates
}

async function timerDelays(spreadMs) {
  const delays = []
  const expiries = new Map()
  const receiver = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => {
      const {entity} = JSON.parse(body)
      delays.push(Date.now() - expiries.get(entity))
      response.writeHead(200).end('{}')
    })
  })
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const portal = await freshPortal()
  await portal.api('POST', '/v1/blueprints', {
    identifier: 'env',
    schema: {properties: {ttl: {format: 'timer', type: 'string'}}},
    title: 'Env',
  })
  await portal.api('POST', '/v1/actions', {
    identifier: 'expire',
    invocationMethod: {
      body: {entity: '{{ .event.context.entityIdentifier }}'},
      synchronized: true,
      type: 'WEBHOOK',
      url: `http://127.0.0.1:${receiver.address().port}/expired`,
    },
    trigger: {
      event: {blueprintIdentifier: 'env', propertyIdentifier: 'ttl', type: 'TIMER_PROPERTY_EXPIRED'},
      type: 'automation',
    },
  })
  // Expiries spread evenly over `spreadMs`, starting once every entity is written.
  const start = Date.now() + 20_000
  for (let i = 0; i < TIMERS; i += 20) {
    const entities = []
    for (let j = i; j < Math.min(TIMERS, i + 20); j++) {
      const at = start + Math.floor((j / TIMERS) * spreadMs)
      expiries.set(`env-${j}`, at)
      entities.push({identifier: `env-${j}`, properties: {ttl: new Date(at).toISOString()}})
    }
    await portal.api('POST', '/v1/blueprints/env/entities/bulk', {entities})
  }
  const written = Date.now()
  while (delays.length < TIMERS && Date.now() < start + spreadMs + 120_000) await sleep(100)
  portal.stop()
  receiver.close()
  return {delays, headroomMs: start - written}
}

export async function benchBackends() {
  const rates = await agentThroughput()
  console.log(`\n## Run backends (${RUNS} queued runs; KAFKA through the agent queue)`)
  row('portal alone: claim → PATCH SUCCESS → ack, 32 at a time', `${rates.protocol.toFixed(0)} runs/s`)
  row(
    '`idp agent --handler job=true --concurrency 32`',
    `${rates.agent.toFixed(0)} runs/s  (target ≥ 200; ${(rates.agent / rates.protocol).toFixed(2)}x the portal alone)`,
  )
  row(
    'headroom over the 200 runs/s target: agent / portal alone',
    `${(rates.agent / 200).toFixed(1)}x / ${(rates.protocol / 200).toFixed(1)}x`,
  )

  const {delays, headroomMs} = await timerDelays(30_000)
  console.log(`\n## Timers (${TIMERS} timers expiring over 30 s; automation = synchronized WEBHOOK)`)
  if (headroomMs < 0) console.log(`(writing the timers took longer than planned: ${-headroomMs} ms late)`)
  row(
    'expiry → automation webhook received: p50 / p95',
    `${percentile(delays, 50)} ms / ${percentile(delays, 95)} ms  (target ≤ 1 s)`,
  )
  row('timers fired', `${delays.length} of ${TIMERS}`)
  // The most the portal sustains: every timer expiring at the same moment.
  const burst = await timerDelays(0)
  const rate = burst.delays.length / (Math.max(...burst.delays) / 1000)
  row(
    `all ${TIMERS} expiring at once: fired → webhook received at`,
    `${rate.toFixed(0)} timers/s  (headroom ${(rate / (TIMERS / 30)).toFixed(1)}x the ${(TIMERS / 30).toFixed(0)}/s offered above)`,
  )
  return {delays, rates}
}
