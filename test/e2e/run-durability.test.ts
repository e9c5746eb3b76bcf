import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

import {expect, it} from 'vitest'

import {servePortal, type ServedPortal} from '../helpers/e2e.js'
import {until} from '../helpers/http.js'
import {tempDir} from '../helpers/portal.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Records the timer automation's deliveries: entity identifier → how many times. */
async function timerReceiver() {
  const fired = new Map<string, number>()
  const server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => {
      const {entity} = JSON.parse(body) as {entity: string}
      fired.set(entity, (fired.get(entity) ?? 0) + 1)
      response.writeHead(200, {'content-type': 'application/json'}).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    fired,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  }
}

it('kill -9 with runs queued, claimed and half-reported: none lost, none handed out twice while claimed, timers fire once', async () => {
  const receiver = await timerReceiver()
  const dataDir = tempDir('idp-data-')
  const configDir = tempDir('idp-config-')
  let portal: ServedPortal = await servePortal({configDir, dataDir})
  const api = (method: string, path: string, body?: unknown) => portal.api(method, path, body)
  const claim = async (installationId: string) =>
    (
      await api('POST', '/v1/actions/runs/claim-pending', {installationId, limit: 100, visibilityTimeoutMs: 15_000})
    ).runs.map((run: {id: string}) => run.id) as string[]

  await api('POST', '/v1/blueprints', {
    identifier: 'env',
    schema: {properties: {ttl: {format: 'timer', type: 'string'}}},
    title: 'Env',
  })
  await api('POST', '/v1/actions', {
    identifier: 'job',
    invocationMethod: {payload: {run: '{{ .run.id }}'}, type: 'KAFKA'},
    trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
  })
  await api('POST', '/v1/actions', {
    identifier: 'expire',
    invocationMethod: {
      body: {entity: '{{ .event.context.entityIdentifier }}'},
      synchronized: true,
      type: 'WEBHOOK',
      url: `${receiver.url}/expired`,
    },
    trigger: {
      event: {blueprintIdentifier: 'env', propertyIdentifier: 'ttl', type: 'TIMER_PROPERTY_EXPIRED'},
      type: 'automation',
    },
  })

  // 30 queued runs; agent A claims 10 of them and half-reports 5 (a label and a log, no outcome).
  const runs: string[] = []
  for (let i = 0; i < 30; i++) runs.push((await api('POST', '/v1/actions/job/runs', {properties: {}})).run.id)
  // The portal queues each run for agents just after creating it.
  for (const id of runs) while ((await api('GET', `/v1/actions/runs/${id}/logs`)).runLogs.length === 0) await sleep(20)
  const claimedByA = (
    await api('POST', '/v1/actions/runs/claim-pending', {
      installationId: 'agent-a',
      limit: 10,
      visibilityTimeoutMs: 15_000,
    })
  ).runs.map((run: {id: string}) => run.id) as string[]
  const claimedAt = Date.now()
  expect(claimedByA).toHaveLength(10)
  const halfReported = claimedByA.slice(0, 5)
  for (const id of halfReported) {
    await api('PATCH', `/v1/actions/runs/${id}`, {statusLabel: 'Halfway'})
    await api('POST', `/v1/actions/runs/${id}/logs`, {message: 'step 1 of 2 done'})
  }
  // Ten environments whose timers run out while the portal is down.
  const ttl = new Date(Date.now() + 1000).toISOString()
  for (let i = 0; i < 10; i++)
    await api('POST', '/v1/blueprints/env/entities', {identifier: `env-${i}`, properties: {ttl}})

  await portal.kill() // SIGKILL: no shutdown work at all
  await sleep(1500)
  portal = await servePortal({configDir, dataDir})

  // Nothing lost; the half-reported runs kept what was reported.
  const listed = (await api('GET', '/v1/actions/runs?action=job&limit=100')).runs as {id: string; status: string}[]
  expect(listed.map((run) => run.id).sort()).toEqual([...runs].sort())
  expect(listed.every((run) => run.status === 'IN_PROGRESS')).toBe(true)
  for (const id of halfReported) {
    expect((await api('GET', `/v1/actions/runs/${id}`)).run.statusLabel).toBe('Halfway')
    expect(
      (await api('GET', `/v1/actions/runs/${id}/logs`)).runLogs.map((log: {message: string}) => log.message),
    ).toContain('step 1 of 2 done')
  }

  // While A's claims are live, agent B gets exactly the 20 runs nobody holds.
  expect(Date.now() - claimedAt).toBeLessThan(15_000)
  const claimedByB = await claim('agent-b')
  expect(claimedByB.sort()).toEqual(runs.filter((id) => !claimedByA.includes(id)).sort())
  expect(await claim('agent-c')).toEqual([])

  // A finishes and acknowledges its first five; the other five are handed out again once the claim lapses.
  for (const id of halfReported) {
    await api('POST', `/v1/actions/runs/${id}/logs`, {message: 'step 2 of 2 done', terminationStatus: 'SUCCESS'})
  }
  await api('PATCH', '/v1/actions/runs/ack', {runIds: [...halfReported, ...claimedByB]})
  await sleep(Math.max(0, claimedAt + 15_000 - Date.now()) + 200)
  expect((await claim('agent-c')).sort()).toEqual(claimedByA.slice(5).sort())

  // Each expired timer fired once, after the restart — and not again after another restart.
  await until(() => (receiver.fired.size >= 10 ? true : undefined)).catch(() => undefined)
  expect([...receiver.fired.values()]).toEqual(Array(10).fill(1))
  await portal.stop()
  portal = await servePortal({configDir, dataDir})
  await sleep(1500)
  expect([...receiver.fired.values()]).toEqual(Array(10).fill(1))
  expect((await api('GET', '/v1/actions/runs?action=expire&limit=100')).runs).toHaveLength(10)
  await portal.stop()
  await receiver.close()
}, 60_000)
