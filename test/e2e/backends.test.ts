import {createServer, type IncomingMessage} from 'node:http'
import type {AddressInfo} from 'node:net'

import {afterAll, beforeAll, expect, it} from 'vitest'

import {verifyWebhook} from '../../src/verify.js'
import {startCli} from '../helpers/cli.js'
import {localPortal, type CliPortal} from '../helpers/e2e.js'

// Each webhook kind from `idp action run` to a watched end: the portal calling a backend
// directly (synchronized, or asynchronous with the backend reporting back), and `idp agent`
// calling a backend inside the network. Every request must carry a valid signature.

let portal: CliPortal
let agent: ReturnType<typeof startCli>
let backendUrl: string
let closeBackend: () => void
const received: {path: string; verified: boolean}[] = []

beforeAll(async () => {
  portal = await localPortal()
  const {clientSecret: secret} = portal.credentials()
  const report = async (runId: string) => {
    await portal.api('POST', `/v1/actions/runs/${runId}/logs`, {message: 'backend: working'})
    await portal.api('PATCH', `/v1/actions/runs/${runId}`, {status: 'SUCCESS', summary: 'backend: done'})
  }
  const server = createServer((request: IncomingMessage, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => {
      const verified = verifyWebhook({body, headers: request.headers, secret}).ok
      received.push({path: request.url!, verified})
      if (!verified) return void response.writeHead(401).end()
      const {runId} = JSON.parse(body) as {runId: string}
      response.writeHead(request.url!.includes('async') ? 202 : 200, {'content-type': 'application/json'})
      response.end(JSON.stringify({accepted: runId}))
      // Asynchronous backends report on their own time.
      if (request.url!.includes('async')) setTimeout(() => void report(runId), 100)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  backendUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  closeBackend = () => server.close()
  for (const [identifier, agentic, synchronized] of [
    ['direct_sync', false, true],
    ['direct_async', false, false],
    ['agent_sync', true, true],
    ['agent_async', true, false],
  ] as const) {
    await portal.api('POST', '/v1/actions', {
      identifier,
      invocationMethod: {
        agent: agentic,
        body: {runId: '{{ .run.id }}'},
        synchronized,
        type: 'WEBHOOK',
        url: `${backendUrl}/${identifier.replace('_', '-')}`,
      },
      trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
    })
  }
  agent = startCli(['agent', '--poll-interval', '100ms'], portal.env)
})
afterAll(async () => {
  agent.child.kill('SIGTERM')
  await agent.exited
  await portal.stop()
  closeBackend()
})

it.each(['direct_sync', 'direct_async', 'agent_sync', 'agent_async'])(
  '%s: `idp action run` follows the run to SUCCESS; the backend got a signed request',
  async (action) => {
    const result = await portal.run(['action', 'run', action, '--json'])
    expect(result.code, result.stderr).toBe(0)
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(events.at(-1)).toMatchObject({event: 'finished', status: 'SUCCESS'})
    const path = `/${action.replace('_', '-')}`
    expect(received.filter((request) => request.path === path)).toEqual([{path, verified: true}])
    if (action.endsWith('async')) {
      expect(events.filter((event) => event.event === 'log').map((event) => event.message)).toContain(
        'backend: working',
      )
    }
  },
)
