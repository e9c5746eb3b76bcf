import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, expect, it} from 'vitest'

import {BIN, startCli} from '../helpers/cli.js'
import {localPortal, runEnded, type CliPortal} from '../helpers/e2e.js'
import {tempDir} from '../helpers/portal.js'

// What a CI job or a handler runs: the commands in-process, the agent and its handler's `idp`
// calls through the built CLI; the services behind these commands are tested in test/api/scripting.test.ts.
let portal: CliPortal

beforeAll(async () => {
  portal = await localPortal()
  await portal.api('POST', '/v1/blueprints', {identifier: 'System', schema: {properties: {}}, title: 'System'})
  await portal.api('POST', '/v1/blueprints', {
    identifier: 'Service',
    relations: {system: {many: false, required: false, target: 'System'}},
    schema: {properties: {replicas: {type: 'number'}, live: {type: 'boolean'}}},
    title: 'Service',
  })
  await portal.api('POST', '/v1/blueprints/System/entities', {identifier: 'Cart', title: 'Cart'})
  await portal.api('POST', '/v1/actions', {
    identifier: 'deploy',
    invocationMethod: {payload: {}, type: 'KAFKA'},
    trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
  })
})
afterAll(async () => {
  expect(await portal.stop()).toBe(0)
})

it('entity upsert types flags by the blueprint; --jq prints a string result raw', async () => {
  const args = ['entity', 'upsert', 'Service', '--identifier', 'cart-api', '--property', 'replicas=3']
  const result = await portal.run([...args, '--property', 'live=true', '--relation', 'system=Cart', '--jq', '.entity'])
  expect(result.code).toBe(0)
  expect(JSON.parse(result.stdout)).toMatchObject({properties: {live: true, replicas: 3}, relations: {system: 'Cart'}})
  const raw = await portal.run(['entity', 'get', 'cart-api', '-b', 'Service', '--jq', '.entity.relations.system'])
  expect(raw.stdout).toBe('Cart\n')

  const wrong = await portal.run(['entity', 'upsert', 'Service', '--identifier', 'x', '--property', 'replicas=many'])
  expect(wrong.code).toBe(2)
  expect(wrong.stderr).toContain('--property replicas=many: "replicas" is a number.')
})

it('entity upsert --file writes an array in bulk and lists each failed item; exit 8 when others were written', async () => {
  const file = join(tempDir(), 'services.json')
  const items = Array.from({length: 22}, (_, index) => ({
    identifier: `svc-${index}`,
    relations: {system: index === 21 ? 'Nowhere' : 'Cart'},
  }))
  writeFileSync(file, JSON.stringify(items))
  const result = await portal.run(['entity', 'upsert', 'Service', '--file', file, '--json'])
  expect(result.code).toBe(8)
  expect(result.json()).toMatchObject({
    entities: expect.arrayContaining([{created: true, identifier: 'svc-20', index: 20}]),
    errors: [expect.objectContaining({identifier: 'svc-21', index: 21, status: 404})],
  })
})

it('api reaches any route with the profile, pages with --paginate, and exits by status', async () => {
  const search = [
    'api',
    'blueprints/Service/entities/search',
    '-F',
    'limit=5',
    '--paginate',
    '--jq',
    '.entities | length',
  ]
  expect((await portal.run(search)).stdout).toBe('22\n')
  const missing = await portal.run(['api', '/v1/blueprints/Nope'])
  expect(missing.code).toBe(5)
  expect(missing.stderr).toContain('Nope')
})

it('a handler reports on its run with idp alone: run log, entity upsert and run update from its environment', async () => {
  const idp = `${process.execPath} ${BIN}`
  const handler = [
    `${idp} run log "building"`,
    `${idp} entity upsert Service --identifier from-run --property replicas=2 --merge --jq .entity.identifier`,
    `${idp} run update --status-label Built --link https://ci.example/42`,
  ].join(' && ')
  const agent = startCli(['agent', '--handler', `deploy=${handler}`, '--poll-interval', '100ms'], portal.env)
  // The handler's three CLI starts in a row take a while on a busy machine: hence the test's 90 s.
  const followed = await portal.run(['action', 'run', 'deploy', '--jq', 'select(.event == "log") | .message'])
  agent.child.kill('SIGTERM')
  expect(await agent.exited).toBe(0)
  expect(followed.code).toBe(0)
  expect(followed.stdout.split('\n')).toEqual(expect.arrayContaining(['building', 'from-run']))

  const {runs} = await portal.api('GET', '/v1/actions/runs?action=deploy&version=v2')
  const run = await runEnded(portal, runs[0].id)
  expect(run).toMatchObject({link: ['https://ci.example/42'], status: 'SUCCESS', statusLabel: 'Built'})
  const audit = await portal.run(['audit', '--run', run.id, '--resource', 'entity', '--json'])
  expect(audit.code).toBe(0)
  expect(audit.json().audits).toEqual([
    expect.objectContaining({action: 'CREATE', context: expect.objectContaining({entity: 'from-run', runId: run.id})}),
  ])
}, 90_000)
