import {chmodSync, existsSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, type AddressInfo} from 'node:net'
import {join} from 'node:path'

import {afterAll, beforeAll, expect, it} from 'vitest'

import {ROOT, startCli} from '../helpers/cli.js'
import {localPortal, runEnded, type CliPortal} from '../helpers/e2e.js'
import {request, until} from '../helpers/http.js'
import {tempDir} from '../helpers/portal.js'

let portal: CliPortal
const api = (method: string, path: string, body?: unknown) => portal.api(method, path, body)
const ended = (id: string, timeoutMs?: number) => runEnded(portal, id, timeoutMs)

beforeAll(async () => {
  portal = await localPortal()
  for (const identifier of ['fail_job', 'slow_job']) {
    await api('POST', '/v1/actions', {
      identifier,
      invocationMethod: {payload: {job: identifier, run: '{{ .run.id }}'}, type: 'KAFKA'},
      trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
    })
  }
})
afterAll(async () => {
  await portal.stop()
})

it('a missing --handlers folder is a usage error naming the near one; a handler for no action is named', async () => {
  const missing = await portal.run(['agent', '--handlers', join(ROOT, 'examples/handler')])
  expect(missing.code).toBe(2)
  expect(missing.stderr).toContain(`Did you mean "${join(ROOT, 'examples/handlers')}"?`)
  expect(missing.stderr).not.toContain('ENOENT')

  const typo = await portal.run(['agent', '--handler', 'fail_jbo=true', '--once'])
  expect(typo.code, typo.stderr).toBe(0)
  expect(typo.stderr).toContain('No action "fail_jbo" on the portal')
  expect(typo.stderr).toContain('Did you mean "fail_job"?')
})

it('a failing handler ends the run FAILURE with its last lines; its output lines are the run logs', async () => {
  const agent = startCli(
    [
      'agent',
      '--handler',
      'fail_job=cat; echo; echo "checking quota"; echo "quota exceeded" >&2; exit 3',
      '--poll-interval',
      '100ms',
    ],
    portal.env,
  )
  const {run} = await api('POST', '/v1/actions/fail_job/runs', {properties: {}})
  const done = await ended(run.id)
  expect(done.status).toBe('FAILURE')
  expect(done.summary).toContain('quota exceeded')
  const {runLogs} = await api('GET', `/v1/actions/runs/${run.id}/logs?limit=50`)
  const lines = runLogs.map((log: {message: string}) => log.message)
  expect(lines).toEqual(
    expect.arrayContaining([JSON.stringify({job: 'fail_job', run: run.id}), 'checking quota', 'quota exceeded']),
  )
  agent.child.kill('SIGTERM')
  expect(await agent.exited).toBe(0)
})

it('handlers get a token that dies with their run and cannot change the data model, never the client secret', async () => {
  const {clientId, clientSecret} = portal.credentials()
  const tokenFile = join(tempDir(), 'token')
  const release = join(tempDir(), 'release')
  // The handler holds its run open until the test has used its token.
  const handler = `echo "secret=\${IDP_CLIENT_SECRET:-unset}/\${PORT_CLIENT_SECRET:-unset} run=$IDP_RUN_ID"; echo "$IDP_TOKEN" > ${tokenFile}; while [ ! -e ${release} ]; do sleep 0.05; done`
  const agent = startCli(
    ['agent', '--handler', `fail_job=${handler}`, '--poll-interval', '100ms', '--api-url', portal.url],
    {...portal.env, IDP_CLIENT_ID: clientId, IDP_CLIENT_SECRET: clientSecret, PORT_CLIENT_SECRET: clientSecret},
  )
  const {run} = await api('POST', '/v1/actions/fail_job/runs', {properties: {}})
  const token = await until(() => (existsSync(tokenFile) && readFileSync(tokenFile, 'utf8').trim()) || undefined)
  expect(token).not.toBe(await portal.token())
  const asHandler = (method: string, path: string, body?: unknown) => request(portal.url, method, path, {body, token})
  expect((await asHandler('POST', `/v1/actions/runs/${run.id}/logs`, {message: 'from the handler'})).status).toBe(201)
  expect((await asHandler('DELETE', '/v1/actions/fail_job')).status).toBe(403)
  writeFileSync(release, '')

  expect((await ended(run.id)).status).toBe('SUCCESS')
  expect((await asHandler('GET', '/v1/blueprints')).status).toBe(401)
  const {runLogs} = await api('GET', `/v1/actions/runs/${run.id}/logs?limit=50`)
  expect(runLogs.map((log: {message: string}) => log.message)).toEqual(
    expect.arrayContaining([`secret=unset/unset run=${run.id}`, 'from the handler']),
  )
  agent.child.kill('SIGTERM')
  expect(await agent.exited).toBe(0)
})

it('a run whose agent was killed mid-run is handed to another agent after the visibility timeout', async () => {
  const dir = tempDir()
  const marker = join(dir, 'attempts')
  const handler = join(dir, 'slow_job.sh')
  writeFileSync(
    handler,
    `#!/bin/sh\necho attempt >> ${marker}\nn=$(wc -l < ${marker})\nif [ "$n" -eq 1 ]; then sleep 30; fi\necho "done on attempt $n"\n`,
  )
  chmodSync(handler, 0o755)
  const args = ['agent', '--handlers', dir, '--poll-interval', '100ms', '--visibility-timeout', '2s']
  const first = startCli(args, portal.env)
  const {run} = await api('POST', '/v1/actions/slow_job/runs', {properties: {}})
  await until(() => (existsSync(marker) && readFileSync(marker, 'utf8').length > 0) || undefined)
  first.child.kill('SIGKILL')
  await first.exited
  const second = startCli(args, portal.env)
  const done = await ended(run.id, 30_000).catch((error: Error) => {
    throw new Error(`${error.message}; the second agent said: ${second.stderr()}`)
  })
  expect(done.status).toBe('SUCCESS')
  const {runLogs} = await api('GET', `/v1/actions/runs/${run.id}/logs?limit=50`)
  expect(runLogs.map((log: {message: string}) => log.message)).toContain('done on attempt 2')
  second.child.kill('SIGTERM')
  expect(await second.exited).toBe(0)
}, 60_000)

it('SIGTERM lets a run finish within --grace, and releases one that does not, for the next agent at once', async () => {
  const dir = tempDir()
  const started = join(dir, 'started')
  const release = join(dir, 'release')
  // "held": the handler runs until the test creates the release file; a number: it sleeps that long.
  const handler = (hold: 'held' | number) =>
    `echo go >> ${started}; ${hold === 'held' ? `while [ ! -e ${release} ]; do sleep 0.05; done` : `sleep ${hold}`}; echo finished`
  const startedCount = () => (existsSync(started) ? readFileSync(started, 'utf8').split('\n').length - 1 : 0)
  const agentWith = (hold: 'held' | number) =>
    startCli(
      [
        'agent',
        '--handler',
        `slow_job=${handler(hold)}`,
        '--poll-interval',
        '100ms',
        '--grace',
        '1s',
        // Long, so that only a release (not a lapsed claim) can hand the run on quickly.
        '--visibility-timeout',
        '60s',
      ],
      portal.env,
    )

  // Finishes within the grace period: the run ends SUCCESS after the signal.
  const quick = agentWith('held')
  const {run: first} = await api('POST', '/v1/actions/slow_job/runs', {properties: {}})
  await until(() => startedCount() === 1 || undefined)
  quick.child.kill('SIGTERM')
  writeFileSync(release, '')
  expect(await quick.exited).toBe(0)
  expect((await api('GET', `/v1/actions/runs/${first.id}`)).run.status).toBe('SUCCESS')

  // Outlives it: released, so the next agent takes it now rather than after the visibility timeout.
  const stuck = agentWith(30)
  const {run: second} = await api('POST', '/v1/actions/slow_job/runs', {properties: {}})
  await until(() => startedCount() === 2 || undefined)
  stuck.child.kill('SIGTERM')
  expect(await stuck.exited).toBe(0)
  expect(stuck.stderr()).toContain('Released 1 unfinished run')
  const next = agentWith(0)
  // Well inside the 60 s visibility timeout, with room for a slow machine to start the agent.
  expect((await ended(second.id, 20_000)).status).toBe('SUCCESS')
  next.child.kill('SIGTERM')
  expect(await next.exited).toBe(0)
}, 60_000)

it('entity inputs are checked before anything is sent; a failed run ends on its reason, not a stack', async () => {
  await api('POST', '/v1/blueprints', {identifier: 'service', schema: {properties: {}}, title: 'Service'})
  await api('POST', '/v1/blueprints/service/entities', {identifier: 'cart', title: 'Cart Service'})
  await api('POST', '/v1/actions', {
    identifier: 'deploy_service',
    invocationMethod: {payload: {}, type: 'KAFKA'},
    trigger: {
      operation: 'CREATE',
      type: 'self-service',
      userInputs: {
        properties: {service: {blueprint: 'service', format: 'entity', type: 'string'}},
        required: ['service'],
      },
    },
  })
  const runsBefore = (await api('GET', '/v1/actions/runs?action=deploy_service')).runs.length
  const typo = await portal.run(['action', 'run', 'deploy_service', '--input', 'service=carts', '--dry-run'])
  expect(typo.code).toBe(2)
  expect(typo.stderr).toContain('service: "carts" is not a service entity. Did you mean "cart"?')
  const dry = await portal.run(['action', 'run', 'deploy_service', '--input', 'service=cart', '--dry-run'])
  expect(dry.code).toBe(0)
  expect((await api('GET', '/v1/actions/runs?action=deploy_service')).runs.length).toBe(runsBefore)

  const handler = `node -e "throw new Error('database is down')"`
  const agent = startCli(['agent', '--handler', `deploy_service=${handler}`, '--poll-interval', '100ms'], portal.env)
  const run = await portal.run(['action', 'run', 'deploy_service', '--input', 'service=cart'])
  agent.child.kill('SIGTERM')
  await agent.exited
  expect(run.code).toBe(9)
  const last = run.stderr.trim().split('\n').at(-1)!
  expect(last).toMatch(/^Error: Run r_\w+ failed: The handler exited with 1: Error: database is down$/)
  expect(run.stderr).not.toMatch(/^\s+at /m)
})

it('a run waiting for an agent when none polls says so, and how to start one', async () => {
  const lonely = await localPortal()
  try {
    await lonely.api('POST', '/v1/actions', {
      identifier: 'queued_job',
      invocationMethod: {payload: {}, type: 'KAFKA'},
      trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
    })
    // Side by side: each waits out the portal's 10 s before it says so.
    const [watch, json] = await Promise.all([
      lonely.run(['action', 'run', 'queued_job', '--timeout', '14s']),
      lonely.run(['action', 'run', 'queued_job', '--timeout', '14s', '--json']),
    ])
    expect(watch.code).toBe(11)
    expect(watch.stderr).toContain('No agent is polling this portal yet; this run waits for one')
    expect(watch.stderr).toContain('idp agent --handlers DIR')
    const events = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as {event?: string})
    expect(events).toContainEqual({event: 'no_agent', lastPollAt: null})
  } finally {
    await lonely.stop()
  }
}, 60_000)

it('the agent says once that the portal is gone, and again when it is back', async () => {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const {port: free} = probe.address() as AddressInfo
      probe.close(() => resolve(free))
    })
  })
  const env = {IDP_CONFIG_DIR: tempDir()}
  const dataDir = tempDir()
  const serve = () => startCli(['portal', 'serve', '--port', String(port), '--data-dir', dataDir, '--json'], env)
  const first = serve()
  await first.firstLine
  const agent = startCli(['agent', '--poll-interval', '100ms'], env)
  const shown = (text: string) => async () => (agent.stderr().includes(text) ? true : undefined)
  await until(shown('polling'))
  first.child.kill('SIGTERM')
  await first.exited
  await until(shown('Cannot reach the portal'))
  expect(agent.stderr()).toMatch(/Cannot reach the portal at \S+ \([a-z ]+\); retrying\n/)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const second = serve()
  await second.firstLine
  await until(shown(`Reconnected to http://127.0.0.1:${port}`), 20_000)
  expect(agent.stderr().match(/Cannot reach the portal/g)).toHaveLength(1)
  agent.child.kill('SIGTERM')
  await agent.exited
  second.child.kill('SIGTERM')
  await second.exited
}, 60_000)
