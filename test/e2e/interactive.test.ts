import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, expect, it} from 'vitest'

import {fakeBackend} from '../helpers/backend.js'
import {BIN} from '../helpers/cli.js'
import {localPortal, type CliPortal} from '../helpers/e2e.js'
import {tempDir} from '../helpers/portal.js'
import {terminal} from '../helpers/terminal.js'

let portal: CliPortal
let backend: ReturnType<typeof fakeBackend>

beforeAll(async () => {
  portal = await localPortal()
  const post = (path: string, body: unknown) => portal.api('POST', path, body)
  await post('/v1/blueprints', {identifier: 'service', schema: {properties: {}}, title: 'Service'})
  for (const id of ['cart', 'orders', 'payments'])
    await post('/v1/blueprints/service/entities', {identifier: id, title: `${id} service`})
  await post('/v1/actions', {
    identifier: 'create_env',
    invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
    title: 'Create env',
    trigger: {
      operation: 'CREATE',
      type: 'self-service',
      userInputs: {
        order: ['name', 'service', 'size', 'ttl', 'token'],
        properties: {
          name: {title: 'Name', type: 'string'},
          service: {blueprint: 'service', format: 'entity', title: 'Service', type: 'string'},
          size: {default: 'small', enum: ['small', 'large'], title: 'Size', type: 'string'},
          token: {encryption: 'aes256-gcm', title: 'Token', type: 'string'},
          ttl: {format: 'date-time', title: 'TTL', type: 'string'},
        },
        required: ['name', 'service', 'ttl'],
      },
    },
  })
  backend = fakeBackend(portal.url, () => portal.token())
})
afterAll(async () => {
  await backend.stop()
  await portal.stop()
})

it('asks for every input at a real terminal and follows the run to SUCCESS', async () => {
  const term = terminal(`${process.execPath} ${BIN} action run create_env`, portal.env)
  try {
    await term.waitFor('? Name')
    term.type('dev-pty', 'Enter')
    await term.waitFor('type to search service')
    term.type('pay')
    // The list filters as it is typed: wait until it shows only the match before choosing it.
    await term.waitFor(
      (screen) => screen.includes('payments service (payments)') && !screen.includes('cart service (cart)'),
    )
    term.type('Enter')
    await term.waitFor('? Size')
    term.type('Down')
    await term.waitFor('❯ large')
    term.type('Enter')
    await term.waitFor('? TTL')
    term.type('5 days')
    await term.waitFor(/5 days\s+→ \d{4}-\d\d-\d\dT/)
    term.type('Enter')
    await term.waitFor('? Token')
    term.type('hunter2', 'Enter')
    const screen = await term.waitFor('✓ SUCCESS')
    expect(await term.exitCode()).toBe(0)
    expect(screen).toMatch(/Run r_\w{16} started/)
    expect(screen).toContain('Deploying services')
    expect(screen).toContain('To run this again without prompts:')
    expect(screen).toMatch(
      /idp action run create_env --input name=dev-pty --input service=payments --input size=large --input 'ttl=5 days'/,
    )
    expect(screen).toContain('secret inputs left out: token')
    expect(screen).not.toContain('hunter2')
  } finally {
    term.close()
  }
}, 60_000)

it('shows the first question having loaded only the prompt it asks: no other kind, no ajv, no jq', async () => {
  const trace = join(tempDir(), 'imports.txt')
  const tracer = new URL('../helpers/trace-imports.mjs', import.meta.url).pathname
  const term = terminal(`${process.execPath} --import ${tracer} ${BIN} action run create_env`, {
    ...portal.env,
    IDP_TRACE_IMPORTS: trace,
  })
  try {
    await term.waitFor('? Name')
    const loaded = readFileSync(trace, 'utf8')
    expect(loaded).toContain('/@inquirer/input/')
    // @inquirer/prompts would load every kind, and the editor's charset detection and encodings.
    for (const heavy of [
      '/@inquirer/prompts/',
      '/@inquirer/editor/',
      '/chardet/',
      '/iconv-lite/',
      '/ajv/',
      '/jq-wasm/',
    ])
      expect(loaded.includes(heavy), `the first prompt loaded ${heavy}`).toBe(false)
    term.type('C-c')
    expect(await term.exitCode()).toBe(130)
  } finally {
    term.close()
  }
})

it.each([
  ['action run', ['action', 'run', 'create_env'], '? Name'],
  ["login's secret prompt", ['login', '--client-id', 'someone'], '? Client secret'],
  ["entity delete's confirmation", ['entity', 'delete', 'cart', '--blueprint', 'service'], '? Delete entity'],
])('Ctrl-C at %s stops quietly with exit 130 and sends nothing', async (_what, args, prompt) => {
  const before = (await portal.api('GET', '/v1/actions/runs?limit=1000')).runs.length
  const term = terminal(`${process.execPath} ${BIN} ${args.join(' ')}`, portal.env)
  try {
    await term.waitFor(prompt)
    term.type('C-c')
    expect(await term.exitCode()).toBe(130)
    const shown = term.screen()
    expect(shown).not.toMatch(/bug in idp|Error/)
  } finally {
    term.close()
  }
  expect((await portal.api('GET', '/v1/actions/runs?limit=1000')).runs.length).toBe(before)
  expect((await portal.api('GET', '/v1/blueprints/service/entities/cart')).entity.identifier).toBe('cart')
})
