import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BIN, runCli, startCli} from '../helpers/cli.js'
import {localPortal, mode, type CliPortal} from '../helpers/e2e.js'
import {tempDir} from '../helpers/portal.js'
import {runIdp} from '../helpers/run-command.js'

let portal: CliPortal
let secret: string

beforeAll(async () => {
  portal = await localPortal()
  secret = portal.credentials().clientSecret
  const post = (path: string, body: unknown) => portal.api('POST', path, body)
  await post('/v1/blueprints', {identifier: 'System', schema: {properties: {}}, title: 'System'})
  await post('/v1/blueprints', {
    identifier: 'Component',
    relations: {system: {many: false, required: false, target: 'System'}},
    schema: {properties: {replicas: {type: 'number'}, type: {enum: ['service', 'library'], type: 'string'}}},
    title: 'Component',
  })
  await post('/v1/blueprints/System/entities', {identifier: 'Cart', title: 'Cart'})
  await post('/v1/blueprints/Component/entities/bulk', {
    entities: [
      {
        identifier: 'CartService',
        properties: {replicas: 3, type: 'service'},
        relations: {system: 'Cart'},
        title: 'Cart Service',
      },
      {identifier: 'CoreKafkaLibrary', properties: {type: 'library'}, relations: {system: 'Cart'}},
      {identifier: 'Orphan', properties: {type: 'library'}},
    ],
  })
})
afterAll(async () => {
  expect(await portal.stop()).toBe(0)
})

describe('idp portal serve', () => {
  it('saves the local profile with its credentials in a 0600 file', () => {
    const file = join(portal.configDir, 'config.json')
    expect(mode(file)).toBe('600')
    expect(mode(portal.configDir)).toBe('700')
    const config = JSON.parse(readFileSync(file, 'utf8'))
    expect(config.profiles.local).toMatchObject({apiUrl: portal.url, clientId: expect.stringMatching(/^client_/)})
  })

  it('creates admin credentials on the first start only, saves them 0600 and never prints the secret', async () => {
    const dataDir = tempDir()
    const configDir = tempDir()
    for (const first of [true, false]) {
      const served = startCli(['portal', 'serve', '--port', '0', '--data-dir', dataDir], {IDP_CONFIG_DIR: configDir})
      let out = ''
      served.child.stdout!.on('data', (chunk) => (out += chunk))
      await served.firstLine
      await new Promise((resolve) => setTimeout(resolve, 200))
      served.child.kill('SIGINT')
      expect(await served.exited).toBe(0)
      expect(out.includes('Created admin credentials')).toBe(first)
      const {clientSecret} = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')).profiles.local
      expect(out + served.stderr()).not.toContain(clientSecret)
      expect(mode(join(configDir, 'config.json'))).toBe('600')
    }
  })

  it('exits 2 naming the address when the port is taken', async () => {
    const port = new URL(portal.url).port
    const result = await runIdp(['portal', 'serve', '--port', port, '--data-dir', tempDir()], {
      env: {IDP_CONFIG_DIR: tempDir()},
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`127.0.0.1:${port} is already in use`)
  })
})

describe('read commands', () => {
  it('lists blueprints as tab-separated rows without a TTY, and as JSON', async () => {
    const plain = await portal.run(['blueprint', 'list'])
    expect(plain.code).toBe(0)
    expect(plain.stdout.split('\n')).toContain('Component\tComponent\treplicas, type\tsystem→System')
    const json = await portal.run(['blueprint', 'list', '--json'])
    expect(json.json().blueprints.map((bp: {identifier: string}) => bp.identifier)).toEqual([
      '_team',
      '_user',
      'System',
      'Component',
    ])
  })

  it('gets a blueprint', async () => {
    const result = await portal.run(['blueprint', 'get', 'Component', '--json'])
    expect(result.json().blueprint.relations.system.target).toBe('System')
  })

  it('lists entities with typed filters', async () => {
    const all = await portal.run(['entity', 'list', '--blueprint', 'Component', '--json'])
    expect(all.json().entities).toHaveLength(3)
    const filtered = await portal.run(['entity', 'list', '-b', 'Component', '--filter', 'replicas=3', '--json'])
    expect(filtered.json().entities.map((e: {identifier: string}) => e.identifier)).toEqual(['CartService'])
    const related = await portal.run(['entity', 'list', '-b', 'Component', '-f', 'system=Cart', '-f', 'type=library'])
    expect(
      related.stdout
        .trim()
        .split('\n')
        .map((line) => line.split('\t')[0]),
    ).toEqual(['CoreKafkaLibrary'])
    const limited = await portal.run(['entity', 'list', '-b', 'Component', '--limit', '2', '--json'])
    expect(limited.json().entities).toHaveLength(2)
  })

  it('rejects an unknown filter property with exit 2 and the known names', async () => {
    const result = await portal.run(['entity', 'list', '-b', 'Component', '--filter', 'colour=red'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('has no property or relation "colour"')
    expect(result.stderr).toContain('replicas')
    const near = await portal.run(['entity', 'list', '-b', 'Component', '--filter', 'replica=3'])
    expect(near.stderr).toContain('Did you mean "replicas"?')
  })

  it('checks a filter value against its enum, with a suggestion', async () => {
    const result = await portal.run(['entity', 'list', '-b', 'Component', '--filter', 'type=servce'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('"servce" is not a value of "type". Did you mean "service"?')
  })

  it('gets an entity, and exits 5 with the portal’s message when it does not exist', async () => {
    const found = await portal.run(['entity', 'get', 'CartService', '-b', 'Component', '--json'])
    expect(found.json().entity).toMatchObject({identifier: 'CartService', properties: {replicas: 3}})
    const missing = await portal.run(['entity', 'get', 'Nope', '-b', 'Component'])
    expect(missing.code).toBe(5)
    expect(missing.stderr).toBe('Error: Entity "Nope" of blueprint "Component" was not found\n')
  })

  it('prints errors as JSON on stdout with --json, with the same exit code', async () => {
    const missing = await portal.run(['entity', 'get', 'Nope', '-b', 'Component', '--json'])
    expect(missing.code).toBe(5)
    expect(missing.json()).toEqual({
      error: {
        code: 'not_found',
        exitCode: 5,
        message: 'Entity "Nope" of blueprint "Component" was not found',
        status: 404,
      },
    })
  })
})

describe('entity delete', () => {
  it('refuses without --yes when it cannot ask', async () => {
    const result = await portal.run(['entity', 'delete', 'Orphan', '-b', 'Component'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('Pass --yes')
    expect((await portal.run(['entity', 'get', 'Orphan', '-b', 'Component'])).code).toBe(0)
  })

  it('deletes one or many with --yes', async () => {
    const one = await portal.run(['entity', 'delete', 'Orphan', '-b', 'Component', '--yes', '--json'])
    expect(one.json()).toEqual({blueprint: 'Component', deleted: ['Orphan']})
    const missing = await portal.run(['entity', 'delete', 'Orphan', '-b', 'Component', '--yes'])
    expect(missing.code).toBe(5)
  })
})

describe('usage errors (exit 2)', () => {
  it.each([
    [['entity', 'list'], 'Missing required flag --blueprint.'],
    [['entity', 'list', '-b', 'X', '--bogus'], 'Unknown flag --bogus.'],
    [['entity', 'list', '-b', 'X', '--blueprnt', 'Y'], 'Unknown flag --blueprnt. Did you mean "--blueprint"?'],
    [['blueprint', 'get'], 'Missing 1 required arg'],
    [['entity', 'list', '-b', 'X', '--limit', 'ten'], '--limit: expected an integer'],
  ])('%j', async (args, message) => {
    const result = await portal.run(args)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(message)
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  // oclif finds (or does not find) the command before any idp code runs: the built CLI, spawned.
  it.each([
    [['entity', 'lst'], '"entity lst" is not an idp command. Did you mean "entity list"?'],
    [['acton', 'run', 'x'], '"acton run x" is not an idp command. Did you mean "action run"?'],
  ])('%j', async (args, message) => {
    const result = await runCli(args, {env: portal.env})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(message)
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it('suggests the closest action, blueprint and run for a mistyped name (exit 5)', async () => {
    const blueprint = await portal.run(['blueprint', 'get', 'Componnt'])
    expect(blueprint.code).toBe(5)
    expect(blueprint.stderr).toContain('Did you mean "Component"?')
    const listed = await portal.run(['entity', 'list', '-b', 'componet'])
    expect(listed.stderr).toContain('Did you mean "Component"?')
  })

  it('reports usage errors as JSON too', async () => {
    const result = await portal.run(['entity', 'list', '--json'])
    expect(result.code).toBe(2)
    expect(result.json().error).toMatchObject({code: 'usage', exitCode: 2})
  })
})

describe('connection and credentials', () => {
  it('a malformed API URL is a usage error (exit 2) that shows the expected form, from a flag or the environment', async () => {
    for (const [args, env] of [
      [['blueprint', 'list', '--api-url', 'ftp://portal'], {}],
      [['blueprint', 'list', '--api-url', 'api.getport.io'], {}],
      [['blueprint', 'list'], {IDP_API_URL: 'not a url'}],
      [['login', '--api-url', 'garbage', '--no-input'], {}],
    ] as const) {
      const result = await runIdp([...args], {env: {IDP_CONFIG_DIR: tempDir(), ...env}})
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr).toMatch(/The API URL ".*" (is not a URL|must start with http)/)
      expect(result.stderr).toContain('https://api.getport.io (EU)')
      expect(result.stderr).not.toContain('bug in idp')
    }
  })

  it('names the URL and how to start the portal when nothing answers (exit 7)', async () => {
    const env = {
      IDP_API_URL: 'http://127.0.0.1:1',
      IDP_CLIENT_ID: 'a',
      IDP_CLIENT_SECRET: 'b',
      IDP_CONFIG_DIR: tempDir(),
    }
    const result = await runIdp(['blueprint', 'list'], {env})
    expect(result.code).toBe(7)
    expect(result.stderr.split('\n')[0]).toBe(
      'Error: Cannot reach the portal at http://127.0.0.1:1 (connection refused).',
    )
    expect(result.stderr).toContain('Cannot reach the portal at http://127.0.0.1:1')
    expect(result.stderr).toContain('idp portal serve')
  })

  it('defaults to the local portal on 127.0.0.1:5480 when nothing is configured', async () => {
    const result = await runIdp(['blueprint', 'list'], {env: {IDP_CONFIG_DIR: tempDir()}})
    expect([4, 7]).toContain(result.code)
    expect(result.stderr).toContain('http://127.0.0.1:5480')
  })

  it('exits 4 with a login hint when there are no credentials for the URL', async () => {
    const result = await runIdp(['blueprint', 'list'], {env: {IDP_API_URL: portal.url, IDP_CONFIG_DIR: tempDir()}})
    expect(result.code).toBe(4)
    expect(result.stderr).toContain(`No credentials for ${portal.url}: no profile is saved for it`)
  })

  it('half a credential pair in the environment is an error naming the missing variable', async () => {
    for (const [set, missing] of [
      ['IDP_CLIENT_ID', 'IDP_CLIENT_SECRET'],
      ['PORT_CLIENT_SECRET', 'PORT_CLIENT_ID'],
    ]) {
      // The saved profile must not be used instead: that would act as someone else.
      const result = await portal.run(['blueprint', 'list'], {[set!]: 'x'})
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(`${set} is set but ${missing} is not.`)
    }
  })

  it('--profile naming no profile says so, with the closest one', async () => {
    const result = await portal.run(['blueprint', 'list', '--profile', 'locl'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('No profile "locl". Did you mean "local"?')
  })

  it('uses IDP_CLIENT_ID/SECRET or PORT_CLIENT_ID/SECRET from the environment', async () => {
    const config = JSON.parse(readFileSync(join(portal.configDir, 'config.json'), 'utf8')).profiles.local
    for (const prefix of ['IDP', 'PORT']) {
      const result = await runIdp(['blueprint', 'list', '--json'], {
        env: {
          IDP_CONFIG_DIR: tempDir(),
          [`${prefix}_CLIENT_ID`]: config.clientId,
          [`${prefix}_CLIENT_SECRET`]: secret,
          ...(prefix === 'PORT' ? {PORT_API_URL: `${portal.url}/v1`} : {IDP_API_URL: portal.url}),
        },
      })
      expect(result.code, result.stderr).toBe(0)
    }
  })

  it('logs in with credentials from the environment, saves a 0600 profile, never prints the secret', async () => {
    const configDir = tempDir()
    const clientId = JSON.parse(readFileSync(join(portal.configDir, 'config.json'), 'utf8')).profiles.local.clientId
    const env = {IDP_CLIENT_ID: clientId, IDP_CLIENT_SECRET: secret, IDP_CONFIG_DIR: configDir}
    const login = await runIdp(['login', '--api-url', portal.url, '--json'], {env})
    expect(login.code, login.stderr).toBe(0)
    expect(login.json()).toMatchObject({apiUrl: portal.url, clientId, profile: 'default'})
    expect(login.stdout + login.stderr).not.toContain(secret)
    expect(mode(join(configDir, 'config.json'))).toBe('600')

    const status = await runIdp(['auth', 'status', '--json'], {env: {IDP_CONFIG_DIR: configDir}})
    expect(status.json()).toEqual({
      apiUrl: portal.url,
      apiUrlSource: 'profile',
      authenticated: true,
      clientId,
      configFile: join(configDir, 'config.json'),
      credentialsSource: 'profile',
      profile: 'default',
    })
    expect(status.stdout).not.toContain(secret)

    const logout = await runIdp(['logout', '--json'], {env: {IDP_CONFIG_DIR: configDir}})
    expect(logout.json()).toEqual({profile: 'default', removed: true})
    expect(readFileSync(join(configDir, 'config.json'), 'utf8')).not.toContain(secret)
  })

  it('login without a TTY lists what is missing instead of prompting (exit 2)', async () => {
    const result = await runIdp(['login', '--api-url', portal.url], {env: {IDP_CONFIG_DIR: tempDir()}})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('Missing the client id: --client-id or IDP_CLIENT_ID; and the client secret')
  })

  it('login with a wrong secret exits 4 and saves nothing', async () => {
    const configDir = tempDir()
    const result = await runIdp(['login', '--api-url', portal.url, '--client-id', 'client_x'], {
      env: {IDP_CLIENT_SECRET: 'wrong', IDP_CONFIG_DIR: configDir},
    })
    expect(result.code).toBe(4)
    expect(result.stderr).toContain('rejected the client credentials from the client id and secret given')
    expect(result.stderr).not.toContain('profile')
    expect(existsSync(join(configDir, 'config.json'))).toBe(false)
  })

  it('never sends a profile’s credentials to another URL; an unreachable one is exit 7, not "no credentials"', async () => {
    const result = await portal.run(['blueprint', 'list', '--api-url', 'http://127.0.0.1:1'])
    expect(result.code).toBe(7)
    expect(result.stderr).toContain('Cannot reach the portal at http://127.0.0.1:1')
    const elsewhere = await runIdp(['blueprint', 'list'], {env: {IDP_API_URL: portal.url, IDP_CONFIG_DIR: tempDir()}})
    expect(elsewhere.code).toBe(4)
  })
})

describe('output conventions', () => {
  it('honours NO_COLOR even when colour is forced', async () => {
    const result = await portal.run(['entity', 'get', 'Nope', '-b', 'Component'], {FORCE_COLOR: '1', NO_COLOR: '1'})
    expect(result.stderr).not.toContain('\u001B[')
    const coloured = await portal.run(['entity', 'get', 'Nope', '-b', 'Component'], {
      FORCE_COLOR: '1',
      NO_COLOR: undefined,
    })
    expect(coloured.stderr).toContain('\u001B[')
  })

  it('--help and --version load no HTTP client, ajv, inquirer, SQLite, PostgreSQL, semver or portal code', async () => {
    for (const args of [['--version'], ['entity', 'list', '--help'], ['--help'], ['portal', 'migrate', '--help']]) {
      const trace = join(tempDir(), 'imports.txt')
      const {spawnSync} = await import('node:child_process')
      const run = spawnSync(
        process.execPath,
        ['--import', new URL('../helpers/trace-imports.mjs', import.meta.url).pathname, BIN, ...args],
        {
          encoding: 'utf8',
          env: {...process.env, IDP_TRACE_IMPORTS: trace},
        },
      )
      expect(run.status).toBe(0)
      const loaded = readFileSync(trace, 'utf8')
      for (const heavy of [
        '/undici/',
        '/ajv/',
        '/@inquirer/',
        '/better-sqlite3/',
        '/node_modules/pg/',
        '/conf/',
        '/dist/portal/',
        // The web view and its markdown renderer load only in the portal process.
        '/dist/portal/web/',
        '/marked/',
        '/dist/api/',
        '/dist/schemas/',
        // oclif's own Node version check (bin/run.js turns it off; npm checks idp's engines).
        '/semver/',
      ]) {
        expect(loaded.includes(heavy), `${args.join(' ')} loaded ${heavy}`).toBe(false)
      }
    }
  })
})

describe('idp portal credential', () => {
  it('creates a member credential that can read but not change blueprints (sync exits 4, the write refused)', async () => {
    const created = await portal.run([
      'portal',
      'credential',
      '--role',
      'member',
      '--email',
      'dev@example.com',
      '--data-dir',
      portal.dataDir,
      '--json',
    ])
    expect(created.code, created.stderr).toBe(0)
    const {clientId, clientSecret, role} = created.json()
    expect(role).toBe('member')
    const env = {
      IDP_API_URL: portal.url,
      IDP_CLIENT_ID: clientId,
      IDP_CLIENT_SECRET: clientSecret,
      IDP_CONFIG_DIR: tempDir(),
    }
    expect((await runIdp(['blueprint', 'list'], {env})).code).toBe(0)
    const dir = tempDir()
    const {writeFileSync, mkdirSync} = await import('node:fs')
    mkdirSync(join(dir, 'blueprints'))
    writeFileSync(
      join(dir, 'blueprints', 'Team.json'),
      JSON.stringify({identifier: 'Team', schema: {properties: {}}, title: 'Team'}),
    )
    const sync = await runIdp(['catalog', 'sync', dir, '--source', 'member'], {env})
    expect(sync.code).toBe(4)
    expect(sync.stderr).toContain('Only admin credentials may POST /v1/blueprints')
  })
})
