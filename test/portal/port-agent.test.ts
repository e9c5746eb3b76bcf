import {afterAll, beforeAll, expect, it} from 'vitest'

import {createHmac} from 'node:crypto'

import {compactJson, verifyWebhook} from '../../src/verify.js'
import {until} from '../helpers/http.js'
import {startTestPortal, type TestPortal} from '../helpers/portal.js'

/**
 * What Port's execution agent (port-labs/port-agent, POLLING mode) sends and relies on, as HTTP
 * exchanges in its shape: it polls workflow runs too, claims WEBHOOK runs only, acks them,
 * reports synchronized responses, writes its last log line after the run has ended, and may report
 * the end twice (the second report is 422, as on Port).
 */
let portal: TestPortal
const agent = (method: string, path: string, body?: unknown) => portal.call(method, path, body).then((answer) => answer)

beforeAll(async () => {
  portal = await startTestPortal()
  await portal.call('POST', '/v1/actions', {
    identifier: 'hook',
    invocationMethod: {agent: true, synchronized: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
    trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
  })
  await portal.call('POST', '/v1/actions', {
    identifier: 'job',
    invocationMethod: {payload: {}, type: 'KAFKA'},
    trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
  })
})
afterAll(() => portal.stop())

const queued = async (action: string) => {
  const {run} = (await portal.call('POST', `/v1/actions/${action}/runs`, {properties: {}})).body
  return until(async () => {
    const current = (await portal.call('GET', `/v1/actions/runs/${run.id}`)).body.run
    return current.pendingExecution ? current : undefined
  })
}

it('workflow polls are answered as by an organisation without workflows', async () => {
  const claim = await agent('POST', '/v1/workflows/runs/claim-pending', {
    installationId: '_PORT_EXEC_AGENT',
    limit: 100,
  })
  expect(claim).toEqual({body: {ok: true, runs: []}, status: 200})
  expect((await agent('PATCH', '/v1/workflows/runs/ack', {runIds: []})).body).toEqual({ackedCount: 0, ok: true})
})

it('claims honour the invocation filter, so idp agent and Port’s agent can share a portal', async () => {
  const kafka = await queued('job')
  const webhook = await queued('hook')
  const claim = {installationId: '_PORT_EXEC_AGENT', invocationMethod: 'WEBHOOK', limit: 100}
  const {runs} = (await agent('POST', '/v1/actions/runs/claim-pending', claim)).body
  expect(runs.map((run: {id: string}) => run.id)).toEqual([webhook.id])
  expect(runs[0].payload).toMatchObject({agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'})
  const rest = (await agent('POST', '/v1/actions/runs/claim-pending', {installationId: 'idp'})).body.runs
  expect(rest.map((run: {id: string}) => run.id)).toEqual([kafka.id])
  await agent('PATCH', '/v1/actions/runs/ack', {runIds: [kafka.id]})

  // Ack ends the pending execution; the agent then reports as it goes.
  expect((await agent('PATCH', '/v1/actions/runs/ack', {runIds: [webhook.id]})).body.ackedCount).toBe(1)
  expect((await portal.call('GET', `/v1/actions/runs/${webhook.id}`)).body.run.pendingExecution).toBe(false)
  const log = {message: 'Action invocation has completed successfully with status code: 200'}
  expect((await agent('POST', `/v1/actions/runs/${webhook.id}/logs`, log)).status).toBe(201)
  const responded = await agent('PATCH', `/v1/actions/runs/${webhook.id}/response`, {response: {deployed: true}})
  expect(responded.body.run.response).toEqual({deployed: true})
  expect((await agent('PATCH', `/v1/actions/runs/${webhook.id}`, {status: 'SUCCESS'})).status).toBe(200)

  // After the end: its last log line is taken. A second report (when a webhook fails the agent
  // reports FAILURE, then raise_for_status() makes it report FAILURE again) is 422 as on Port; the
  // agent logs that on the run and goes on. The run keeps its first outcome.
  expect((await agent('POST', `/v1/actions/runs/${webhook.id}/logs`, {message: 'Finished'})).status).toBe(201)
  const again = await agent('PATCH', `/v1/actions/runs/${webhook.id}`, {
    status: 'FAILURE',
    summary: 'Agent failed to process the run',
  })
  expect(again.status).toBe(422)
  expect((await agent('PATCH', `/v1/actions/runs/${webhook.id}`, {status: 'SUCCESS'})).status).toBe(422)
  const failed = {message: 'The run state failed to be reported with status code: 422'}
  expect((await agent('POST', `/v1/actions/runs/${webhook.id}/logs`, failed)).status).toBe(201)
  const ended = (await portal.call('GET', `/v1/actions/runs/${webhook.id}`)).body.run
  expect(ended).toMatchObject({status: 'SUCCESS'})
  expect(ended.summary).toBeUndefined()
  const lines = (await portal.call('GET', `/v1/actions/runs/${webhook.id}/logs`)).body.runLogs
  expect(lines.map((line: {message: string}) => line.message)).toEqual(
    expect.arrayContaining([log.message, 'Finished', failed.message]),
  )
})

it('the agent’s start-up PATCH of the organisation is kept; Kafka credentials say there is no Kafka', async () => {
  const patched = await agent('PATCH', '/v1/organization', {settings: {portAgentStreamerName: 'POLLING'}})
  expect(patched).toEqual({body: {ok: true}, status: 200})
  expect((await portal.call('GET', '/v1/organization')).body.organization.settings).toEqual({
    portAgentStreamerName: 'POLLING',
  })
  const kafka = await agent('GET', '/v1/kafka-credentials')
  expect(kafka.status).toBe(404)
  expect(kafka.body.message).toMatch(/no Kafka.*STREAMER_NAME=POLLING/)
})

it('idp/verify accepts what the agent sends: signed compact, sent with spaces after , and :', () => {
  // The agent signs json.dumps(body, separators=(",", ":")) and sends json.dumps(body): ASCII
  // escapes and number spellings are the same in both, only the whitespace between tokens differs.
  const signed = '{"run":{"id":"r_1"},"inputs":{"name":"caf\\u00e9 \\"a, b\\": c","ratio":1.0,"tags":["x","y"]}}'
  const sent =
    '{"run": {"id": "r_1"}, "inputs": {"name": "caf\\u00e9 \\"a, b\\": c", "ratio": 1.0, "tags": ["x", "y"]}}'
  expect(compactJson(sent)).toBe(signed)
  const timestamp = Math.floor(Date.now() / 1000)
  const signature = createHmac('sha256', 'agent-secret').update(`${timestamp}.${signed}`).digest('base64')
  const headers = {'X-Port-Signature': `v1,${signature}`, 'X-Port-Timestamp': String(timestamp)}
  expect(verifyWebhook({body: Buffer.from(sent), headers, secret: 'agent-secret'})).toEqual({ok: true})
  expect(verifyWebhook({body: sent.replace('r_1', 'r_2'), headers, secret: 'agent-secret'}).ok).toBe(false)
  expect(verifyWebhook({body: sent, headers, secret: 'other-secret'}).ok).toBe(false)
})
