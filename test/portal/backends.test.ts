import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {signWebhook, verifyWebhook} from '../../src/verify.js'
import {until} from '../helpers/http.js'
import {startTestPortal, tempDir, type TestPortal} from '../helpers/portal.js'

/** A local HTTP server answering from a script and recording what it received. */
async function receiver(answer: (request: IncomingMessage, body: string) => {status: number; body?: unknown} | 'hang') {
  const received: {method: string; url: string; headers: IncomingMessage['headers']; body: string}[] = []
  const server: Server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => {
      received.push({body, headers: request.headers, method: request.method!, url: request.url!})
      const reply = answer(request, body)
      if (reply === 'hang') return
      response.writeHead(reply.status, {'content-type': 'application/json'}).end(JSON.stringify(reply.body ?? {}))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    close: () => new Promise((resolve) => server.close(resolve)),
    received,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  }
}

let portal: TestPortal
/** The portals' clock runs with real time, and tests move it ahead instead of sleeping. */
let ahead = 0
const clock = () => new Date(Date.now() + ahead)
const runEnded = (id: string) =>
  until(async () => {
    const {body} = await portal.call('GET', `/v1/actions/runs/${id}`)
    return ['SUCCESS', 'FAILURE', 'DECLINED'].includes(body.run.status) ? body.run : undefined
  })
const logs = async (id: string) =>
  (await portal.call('GET', `/v1/actions/runs/${id}/logs?limit=50`)).body.runLogs.map(
    (log: {message: string}) => log.message,
  )
const action = (identifier: string, invocationMethod: object, userInputs: object = {properties: {}}) =>
  portal.call('POST', '/v1/actions', {
    identifier,
    invocationMethod,
    trigger: {operation: 'CREATE', type: 'self-service', userInputs},
  })
const start = async (identifier: string, properties: object = {}) =>
  (await portal.call('POST', `/v1/actions/${identifier}/runs`, {properties})).body.run

beforeAll(async () => {
  portal = await startTestPortal({clock, retryBaseMs: 20})
  await portal.call('POST', '/v1/blueprints', {
    identifier: 'env',
    schema: {properties: {ttl: {format: 'timer', type: 'string'}, tier: {type: 'string'}}},
    title: 'Env',
  })
})
afterAll(() => portal.stop())

describe('WEBHOOK backends', () => {
  it('synchronized: sends the rendered, signed request and ends the run by the answer', async () => {
    const backend = await receiver(() => ({body: {provisioned: true}, status: 200}))
    await action(
      'sync_hook',
      {
        body: {
          name: '{{ .inputs.name }}',
          replicas: '{{ .inputs.replicas }}',
          run: '{{ .run.id }}',
          text: 'env {{ .inputs.name }} x{{ .inputs.replicas }}',
        },
        headers: {RUN_ID: '{{ .run.id }}'},
        synchronized: true,
        type: 'WEBHOOK',
        url: `${backend.url}/hooks/{{ .inputs.name }}`,
      },
      {properties: {name: {type: 'string'}, replicas: {type: 'number'}}},
    )
    const run = await start('sync_hook', {name: 'blue', replicas: 3})
    const ended = await runEnded(run.id)
    expect(ended).toMatchObject({response: {provisioned: true}, status: 'SUCCESS'})
    const [request] = backend.received
    expect(request).toMatchObject({method: 'POST', url: '/hooks/blue'})
    expect(JSON.parse(request!.body)).toEqual({name: 'blue', replicas: 3, run: run.id, text: 'env blue x3'})
    expect(request!.headers.run_id).toBe(run.id)
    expect(verifyWebhook({body: request!.body, headers: request!.headers, secret: portal.admin.clientSecret})).toEqual({
      ok: true,
    })
    await backend.close()
  })

  it('asynchronous: delivered, then the backend reports', async () => {
    const backend = await receiver(() => ({status: 202}))
    await action('async_hook', {type: 'WEBHOOK', url: `${backend.url}/async`})
    const run = await start('async_hook')
    await until(async () =>
      (await logs(run.id)).some((line: string) => line.startsWith('Delivered: HTTP 202')) ? true : undefined,
    )
    expect((await portal.call('GET', `/v1/actions/runs/${run.id}`)).body.run.status).toBe('IN_PROGRESS')
    await portal.call('PATCH', `/v1/actions/runs/${run.id}`, {status: 'SUCCESS'})
    expect((await runEnded(run.id)).status).toBe('SUCCESS')
    await backend.close()
  })

  it('retries 5xx, and a target that stays down ends the run FAILURE with the reason in the logs', async () => {
    let calls = 0
    const flaky = await receiver(() => (++calls < 3 ? {status: 503} : {status: 200}))
    await action('flaky_hook', {synchronized: true, type: 'WEBHOOK', url: `${flaky.url}/x`})
    expect((await runEnded((await start('flaky_hook')).id)).status).toBe('SUCCESS')
    expect(calls).toBe(3)
    await flaky.close()

    await action('down_hook', {synchronized: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/nothing-listens'})
    const down = await runEnded((await start('down_hook')).id)
    expect(down.status).toBe('FAILURE')
    expect(down.summary).toMatch(/Gave up after 4 attempts: could not reach/)
    expect((await logs(down.id)).filter((line: string) => line.startsWith('Attempt'))).toHaveLength(3)
  })

  it('a target too slow to answer is retried, then the run ends FAILURE saying so', async () => {
    const slow = await startTestPortal({retryBaseMs: 20, webhookTimeoutMs: 200})
    const hanging = await receiver(() => 'hang')
    await slow.call('POST', '/v1/actions', {
      identifier: 'slow_hook',
      invocationMethod: {synchronized: true, type: 'WEBHOOK', url: `${hanging.url}/slow`},
      trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
    })
    const {body} = await slow.call('POST', '/v1/actions/slow_hook/runs', {properties: {}})
    const ended = await until(async () => {
      const {body: current} = await slow.call('GET', `/v1/actions/runs/${body.run.id}`)
      return current.run.status === 'IN_PROGRESS' ? undefined : current.run
    })
    expect(ended.status).toBe('FAILURE')
    expect(ended.summary).toMatch(/Gave up after 4 attempts: .*\/slow did not answer within 0.2s/)
    expect(hanging.received).toHaveLength(4)
    await slow.stop()
    await hanging.close()
  })

  it('non-2xx answers end the run FAILURE', async () => {
    const backend = await receiver(() => ({status: 400}))
    await action('bad_hook', {synchronized: true, type: 'WEBHOOK', url: `${backend.url}/bad`})
    expect(await runEnded((await start('bad_hook')).id)).toMatchObject({
      status: 'FAILURE',
      summary: 'The webhook answered HTTP 400',
    })
    await backend.close()
  })

  it('the shipped verifier rejects forged and stale signatures', () => {
    const body = '{"a":1}'
    const headers = signWebhook(body, 'right-secret')
    expect(verifyWebhook({body, headers, secret: 'right-secret'}).ok).toBe(true)
    expect(verifyWebhook({body, headers, secret: 'wrong-secret'})).toEqual({
      ok: false,
      reason: 'signature does not match',
    })
    expect(verifyWebhook({body: '{"a":2}', headers, secret: 'right-secret'}).ok).toBe(false)
    const stale = signWebhook(body, 'right-secret', Math.floor(Date.now() / 1000) - 3600)
    expect(verifyWebhook({body, headers: stale, secret: 'right-secret'})).toEqual({
      ok: false,
      reason: 'stale or invalid timestamp',
    })
  })
})

describe('approval notifications', () => {
  it('POSTs a signed notice (JSON or Slack) when a run waits for approval; a dead target is logged', async () => {
    const target = await receiver(() => ({status: 200}))
    const notified = (identifier: string, format: string, url = target.url) =>
      portal.call('POST', '/v1/actions', {
        approvalNotification: {format, type: 'webhook', url: `${url}/${format}`},
        identifier,
        invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
        requiredApproval: true,
        trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {size: {type: 'string'}}}},
      })
    await notified('notify_json', 'json')
    await notified('notify_slack', 'slack')
    const json = await start('notify_json', {size: 'L'})
    const slack = await start('notify_slack')
    await until(async () => (target.received.length === 2 ? true : undefined))
    const byUrl = Object.fromEntries(target.received.map((request) => [request.url, request]))
    const notice = byUrl['/json']!
    expect(verifyWebhook({body: notice.body, headers: notice.headers, secret: portal.admin.clientSecret}).ok).toBe(true)
    expect(JSON.parse(notice.body)).toMatchObject({
      action: {identifier: 'notify_json'},
      approvers: [{userId: portal.admin.clientId}],
      run: {id: json.id, properties: {size: 'L'}, status: 'WAITING_FOR_APPROVAL'},
      type: 'APPROVAL_REQUESTED',
    })
    expect(JSON.parse(byUrl['/slack']!.body).text).toContain(`idp run approve ${slack.id}`)
    await target.close()

    await notified('notify_dead', 'json', 'http://127.0.0.1:9')
    const dead = await start('notify_dead')
    const line = await until(async () =>
      (await logs(dead.id)).find((message: string) => message.startsWith('Could not send the approval notification')),
    )
    expect(line).toContain('http://127.0.0.1:9/json')
    expect((await portal.call('GET', `/v1/actions/runs/${dead.id}`)).body.run.status).toBe('WAITING_FOR_APPROVAL')
  })
})

describe('the agent queue', () => {
  it('hands a queued run to one claimer while the claim is live, again after it lapses, and ack ends it', async () => {
    await action(
      'agent_hook',
      {agent: true, body: {name: '{{ .inputs.name }}'}, type: 'WEBHOOK', url: 'http://internal/hook'},
      {properties: {name: {type: 'string'}}},
    )
    const run = await start('agent_hook', {name: 'q'})
    const claim = (id: string, visibilityTimeoutMs = 1000) =>
      portal.call('POST', '/v1/actions/runs/claim-pending', {installationId: id, limit: 10, visibilityTimeoutMs})
    const first = await until(async () => {
      const {body} = await claim('agent-a')
      return body.runs.length > 0 ? body.runs : undefined
    })
    expect(first[0]).toMatchObject({
      id: run.id,
      installationId: 'agent-a',
      payload: {agent: true, body: {name: 'q'}, url: 'http://internal/hook'},
    })
    expect((await claim('agent-b')).body.runs).toEqual([])
    ahead += 1100
    const again = await claim('agent-b')
    expect(again.body.runs.map((r: {id: string}) => r.id)).toEqual([run.id])
    expect((await portal.call('PATCH', '/v1/actions/runs/ack', {runIds: [run.id]})).body).toEqual({
      ackedCount: 1,
      ok: true,
    })
    ahead += 1100
    expect((await claim('agent-c')).body.runs).toEqual([])
  })
})

describe('other backends', () => {
  it('UPSERT_ENTITY: the portal writes the entity itself', async () => {
    await action(
      'make_env',
      {
        blueprintIdentifier: 'env',
        mapping: {identifier: '{{ .inputs.name }}', properties: {tier: '{{ .inputs.tier }}'}},
        type: 'UPSERT_ENTITY',
      },
      {properties: {name: {type: 'string'}, tier: {type: 'string'}}},
    )
    expect((await runEnded((await start('make_env', {name: 'upserted', tier: 'gold'})).id)).status).toBe('SUCCESS')
    expect((await portal.call('GET', '/v1/blueprints/env/entities/upserted')).body.entity.properties).toEqual({
      tier: 'gold',
    })
  })

  it('GITHUB: dispatches the workflow with the rendered inputs and follows it to its conclusion', async () => {
    const github = await receiver((request) => {
      if (request.method === 'POST') return {status: 204}
      return {
        body: {
          workflow_runs: [
            {
              conclusion: 'success',
              created_at: new Date().toISOString().slice(0, 19) + 'Z',
              html_url: 'https://github.example/run/1',
              status: 'completed',
            },
          ],
        },
        status: 200,
      }
    })
    const withGitHub = await startTestPortal({github: {apiUrl: github.url, token: 'gh-token'}})
    await withGitHub.call('POST', '/v1/actions', {
      identifier: 'deploy',
      invocationMethod: {
        org: 'acme',
        repo: 'svc',
        type: 'GITHUB',
        workflow: 'deploy.yml',
        workflowInputs: {env: '{{ .inputs.env }}', ref: 'release'},
      },
      trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {env: {type: 'string'}}}},
    })
    const {body} = await withGitHub.call('POST', '/v1/actions/deploy/runs', {properties: {env: 'prod'}})
    const ended = await until(async () => {
      const {body: current} = await withGitHub.call('GET', `/v1/actions/runs/${body.run.id}`)
      return current.run.status === 'IN_PROGRESS' ? undefined : current.run
    }, 20_000)
    expect(ended).toMatchObject({link: ['https://github.example/run/1'], status: 'SUCCESS'})
    const dispatch = github.received.find((request) => request.method === 'POST')!
    expect(dispatch.url).toBe('/repos/acme/svc/actions/workflows/deploy.yml/dispatches')
    expect(dispatch.headers.authorization).toBe('Bearer gh-token')
    expect(JSON.parse(dispatch.body)).toEqual({inputs: {env: 'prod'}, ref: 'release'})
    await withGitHub.stop()
    await github.close()
  }, 30_000)

  it('GITHUB: a workflow GitHub keeps failing to report is given up on, each failed check logged', async () => {
    const github = await receiver((request) => (request.method === 'POST' ? {status: 204} : {status: 502}))
    const notices: string[] = []
    const withGitHub = await startTestPortal({
      github: {apiUrl: github.url, pollMs: 5, token: 'gh-token'},
      onError: (error) => notices.push((error as Error).message),
    })
    await withGitHub.call('POST', '/v1/actions', {
      identifier: 'deploy',
      invocationMethod: {org: 'acme', repo: 'svc', type: 'GITHUB', workflow: 'deploy.yml'},
      trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
    })
    const {body} = await withGitHub.call('POST', '/v1/actions/deploy/runs', {properties: {}})
    const ended = await until(async () => {
      const {body: current} = await withGitHub.call('GET', `/v1/actions/runs/${body.run.id}`)
      return current.run.status === 'IN_PROGRESS' ? undefined : current.run
    }, 20_000)
    expect(ended).toMatchObject({status: 'FAILURE'})
    expect(ended.summary).toBe('Gave up following workflow deploy.yml after 10 failed checks: GitHub answered HTTP 502')
    const logs = (await withGitHub.call('GET', `/v1/actions/runs/${body.run.id}/logs`)).body.runLogs
    expect(logs.map((log: {message: string}) => log.message)).toContain(
      'Checking workflow deploy.yml failed (GitHub answered HTTP 502); check 1 of 10',
    )
    expect(notices).toHaveLength(10)
    expect(notices[0]).toBe(`run ${body.run.id}: following acme/svc deploy.yml: GitHub answered HTTP 502`)
    await withGitHub.stop()
    await github.close()
  }, 30_000)
})

describe('automations and timers', () => {
  it('ENTITY_CREATED with a jq condition starts a run only when it holds', async () => {
    const backend = await receiver(() => ({status: 200}))
    await portal.call('POST', '/v1/actions', {
      identifier: 'on_gold_env',
      invocationMethod: {
        body: {env: '{{ .event.context.entityIdentifier }}', tier: '{{ .event.diff.after.properties.tier }}'},
        synchronized: true,
        type: 'WEBHOOK',
        url: `${backend.url}/created`,
      },
      trigger: {
        condition: {expressions: ['.diff.after.properties.tier == "gold"'], type: 'JQ'},
        event: {blueprintIdentifier: 'env', type: 'ENTITY_CREATED'},
        type: 'automation',
      },
    })
    await portal.call('POST', '/v1/blueprints/env/entities', {identifier: 'silver-1', properties: {tier: 'silver'}})
    await portal.call('POST', '/v1/blueprints/env/entities', {identifier: 'gold-1', properties: {tier: 'gold'}})
    // Runs start with the write that meets the condition: had silver-1 started one, it would be listed first.
    await until(async () => {
      const {runs} = (await portal.call('GET', '/v1/actions/runs?action=on_gold_env')).body
      return runs.length > 0 && runs.every((run: {status: string}) => run.status === 'SUCCESS') ? true : undefined
    })
    expect(backend.received.map((request) => JSON.parse(request.body))).toEqual([{env: 'gold-1', tier: 'gold'}])
    const {runs} = (await portal.call('GET', '/v1/actions/runs?action=on_gold_env')).body
    expect(runs).toMatchObject([{source: 'AUTOMATION', status: 'SUCCESS'}])
    await backend.close()
  })

  it('Port’s TTL recipe deletes an entity within a second of its timer, through the portal’s own API', async () => {
    await portal.call('POST', '/v1/actions', {
      identifier: 'env_ttl',
      invocationMethod: {
        headers: {RUN_ID: '{{ .run.id }}'},
        method: 'DELETE',
        synchronized: true,
        type: 'WEBHOOK',
        url: 'https://api.port.io/v1/blueprints/env/entities/{{ .event.context.entityIdentifier }}?delete_dependents=false',
      },
      publish: true,
      trigger: {
        event: {blueprintIdentifier: 'env', propertyIdentifier: 'ttl', type: 'TIMER_PROPERTY_EXPIRED'},
        type: 'automation',
      },
    })
    const expires = clock().getTime() + 1200
    await portal.call('POST', '/v1/blueprints/env/entities', {
      identifier: 'short-lived',
      properties: {ttl: new Date(expires).toISOString()},
    })
    const deletedAt = await until(async () =>
      (await portal.call('GET', '/v1/blueprints/env/entities/short-lived')).status === 404
        ? clock().getTime()
        : undefined,
    )
    expect(deletedAt - expires).toBeLessThan(1000)
    expect(deletedAt).toBeGreaterThanOrEqual(expires)
  })

  it('fires a timer that expired while the portal was down, once, after it starts', async () => {
    const dataDir = tempDir()
    const first = await startTestPortal({clock, dataDir})
    await first.call('POST', '/v1/blueprints', {
      identifier: 'box',
      schema: {properties: {ttl: {format: 'timer', type: 'string'}}},
      title: 'Box',
    })
    await first.call('POST', '/v1/actions', {
      identifier: 'box_ttl',
      invocationMethod: {
        blueprintIdentifier: 'box',
        mapping: {identifier: '{{ .event.context.entityIdentifier }}', properties: {ttl: null}},
        type: 'UPSERT_ENTITY',
      },
      trigger: {
        event: {blueprintIdentifier: 'box', propertyIdentifier: 'ttl', type: 'TIMER_PROPERTY_EXPIRED'},
        type: 'automation',
      },
    })
    await first.call('POST', '/v1/blueprints/box/entities', {
      identifier: 'b1',
      properties: {ttl: new Date(clock().getTime() + 600).toISOString()},
    })
    await first.stop()
    ahead += 900
    const second = await startTestPortal({clock, dataDir})
    const fired = await until(async () => {
      const {runs} = (await second.call('GET', '/v1/actions/runs?action=box_ttl')).body
      return runs.length > 0 && runs.every((run: {status: string}) => run.status === 'SUCCESS') ? runs : undefined
    })
    expect(fired).toHaveLength(1)
    ahead += 1200
    // A timer's runs start in the transaction that fires it: after one more pass, a second firing would show.
    second.core.timers.kick()
    await second.core.timers.stop()
    expect((await second.call('GET', '/v1/actions/runs?action=box_ttl')).body.runs).toHaveLength(1)
    await second.stop()
  })
})
