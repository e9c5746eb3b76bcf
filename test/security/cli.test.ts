import {mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startCli} from '../helpers/cli.js'
import {localPortal, runEnded, type CliPortal} from '../helpers/e2e.js'
import {accessToken, request} from '../helpers/http.js'
import {tempDir} from '../helpers/portal.js'

let portal: CliPortal
const api = (method: string, path: string, body?: unknown) => portal.api(method, path, body)
const ended = (id: string, timeoutMs?: number) => runEnded(portal, id, timeoutMs)
const logsOf = async (id: string) =>
  ((await api('GET', `/v1/actions/runs/${id}/logs?limit=50`)).runLogs as {message: string}[]).map((l) => l.message)

beforeAll(async () => {
  portal = await localPortal()
  await api('POST', '/v1/blueprints', {identifier: 'svc', schema: {properties: {}}, title: 'Service'})
})
afterAll(async () => {
  await portal.stop()
})

describe('4. prune deletes only what the source created; adopting is explicit', () => {
  it('an entity that existed before the first sync is not owned, so prune leaves it, unless --adopt', async () => {
    await api('POST', '/v1/blueprints/svc/entities', {identifier: 'before', title: 'Made by hand'})
    const dir = tempDir('idp-catalog-')
    mkdirSync(join(dir, 'svc'))
    const write = (ids: string[]) => {
      rmSync(join(dir, 'svc'), {force: true, recursive: true})
      mkdirSync(join(dir, 'svc'))
      for (const id of ids) writeFileSync(join(dir, 'svc', `${id}.json`), JSON.stringify({identifier: id}))
    }
    write(['before', 'fresh'])
    const plan = await portal.run(['catalog', 'plan', dir, '--source', 'team-a', '--json'])
    expect(plan.json().unowned).toEqual([{adopt: false, blueprint: 'svc', identifier: 'before', kind: 'entity'}])
    const text = await portal.run(['catalog', 'plan', dir, '--source', 'team-a'])
    expect(text.stderr).toMatch(/1 existed before and are not owned by this source.*--adopt/)
    expect((await portal.run(['catalog', 'sync', dir, '--source', 'team-a'])).code).toBe(0)

    write([])
    const pruned = await portal.run(['catalog', 'sync', dir, '--source', 'team-a', '--prune', '--json'])
    expect(pruned.code).toBe(0)
    expect(pruned.json().deleted).toEqual([{blueprint: 'svc', identifier: 'fresh', kind: 'entity'}])
    expect((await api('GET', '/v1/blueprints/svc/entities/before')).entity.title).toBe('Made by hand')

    write(['before'])
    const adopted = await portal.run(['catalog', 'sync', dir, '--source', 'team-a', '--adopt', '--json'])
    expect(adopted.json().unowned).toEqual([{adopt: true, blueprint: 'svc', identifier: 'before', kind: 'entity'}])
    write([])
    const again = await portal.run(['catalog', 'sync', dir, '--source', 'team-a', '--prune', '--json'])
    expect(again.json().deleted).toEqual([{blueprint: 'svc', identifier: 'before', kind: 'entity'}])
  })

  it('a member cannot forge ownership records that an admin’s prune would act on', async () => {
    const member = await portal.run([
      'portal',
      'credential',
      '--role',
      'member',
      '--data-dir',
      portal.dataDir,
      '--json',
    ])
    const {clientId, clientSecret} = member.json()
    await api('POST', '/v1/blueprints/svc/entities', {identifier: 'precious'})
    const token = await accessToken(portal.url, {clientId, clientSecret})
    const forged = await request(portal.url, 'POST', '/v1/blueprints/idp-catalog-source/entities?upsert=true', {
      body: {
        identifier: 'team-a-forged.entities.svc.0',
        properties: {blueprint: 'svc', identifiers: ['precious'], kind: 'entity', source: 'x', sourceKey: 'x'},
      },
      token,
    })
    expect(forged.status).toBe(403)
    const dir = tempDir('idp-catalog-')
    expect((await portal.run(['catalog', 'sync', dir, '--source', 'x', '--prune'])).code).toBe(0)
    expect((await api('GET', '/v1/blueprints/svc/entities/precious')).ok).toBe(true)
  })
})

describe('5. handlers do not find the agent’s saved profile', () => {
  it('a handler’s HOME and config folders are its own; the agent’s client secret is nowhere in its reach', async () => {
    await api('POST', '/v1/actions', {
      identifier: 'snoop',
      invocationMethod: {payload: {}, type: 'KAFKA'},
      trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
    })
    const {clientSecret} = portal.credentials()
    const handler =
      'echo "home=$HOME config=$IDP_CONFIG_DIR"; cat "$IDP_CONFIG_DIR/config.json" "$HOME/.config/idp/config.json" 2>&1; env'
    const agent = startCli(['agent', '--handler', `snoop=${handler}`, '--poll-interval', '100ms'], portal.env)
    const {run} = await api('POST', '/v1/actions/snoop/runs', {properties: {}})
    await ended(run.id)
    const lines = await logsOf(run.id)
    const home = /home=(\S+)/.exec(lines.join('\n'))![1]!
    expect(home).not.toBe(process.env.HOME)
    expect(lines.join('\n')).toContain(`config=${home}/.config/idp`)
    expect(lines.join('\n')).not.toContain(clientSecret)
    expect(lines.join('\n')).not.toContain(portal.configDir)
    agent.child.kill('SIGTERM')
    expect(await agent.exited).toBe(0)
  })
})

describe('7. idp portal credential list | revoke', () => {
  it('lists without secrets, revokes at once, and keeps the organisation’s credential', async () => {
    const made = (
      await portal.run(['portal', 'credential', '--role', 'agent', '--data-dir', portal.dataDir, '--json'])
    ).json()
    expect(made.role).toBe('agent')
    const token = await accessToken(portal.url, {clientId: made.clientId, clientSecret: made.clientSecret})
    const list = await portal.run(['portal', 'credential', 'list', '--data-dir', portal.dataDir, '--json'])
    expect(list.json().credentials).toContainEqual(expect.objectContaining({clientId: made.clientId, role: 'agent'}))
    expect(list.stdout).not.toContain(made.clientSecret)
    const revoked = await portal.run(['portal', 'credential', 'revoke', made.clientId, '--data-dir', portal.dataDir])
    expect(revoked.code).toBe(0)
    const after = await request(portal.url, 'GET', '/v1/blueprints', {token})
    expect(after.status).toBe(401)
    const missing = await portal.run(['portal', 'credential', 'revoke', made.clientId, '--data-dir', portal.dataDir])
    expect(missing.code).toBe(5)
    const org = await portal.run([
      'portal',
      'credential',
      'revoke',
      portal.credentials().clientId,
      '--data-dir',
      portal.dataDir,
    ])
    expect(org.code).toBe(2)
    expect(org.stderr).toMatch(/organisation's credential/)
  })
})

describe('9. the catalog loader stays inside its folder', () => {
  it('a symlink to a file outside is an error that quotes nothing of the target', async () => {
    const outside = join(tempDir(), 'secret.json')
    writeFileSync(outside, '{"identifier": "x", "token": "hunter2-not-json')
    const dir = tempDir('idp-catalog-')
    mkdirSync(join(dir, 'svc'))
    symlinkSync(outside, join(dir, 'svc', 'linked.json'))
    writeFileSync(join(dir, 'svc', 'ok.json'), JSON.stringify({identifier: 'ok'}))
    for (const format of ['text', 'github']) {
      const result = await portal.run(['catalog', 'validate', dir, '--format', format])
      expect(result.code).toBe(3)
      expect(result.stdout + result.stderr).toMatch(/linked\.json.*symbolic link to a file outside the catalog folder/s)
      expect(result.stdout + result.stderr).not.toContain('hunter2')
    }
  })
})

it('no secret issued during a session shows up in logs, traces, --json output, run logs or data files', async () => {
  // Everything a session leaves behind, collected as it goes.
  const seen: string[] = []
  const cli = async (args: string[], env: Record<string, string> = {}) => {
    const result = await portal.run(args, {IDP_DEBUG: 'http', ...env})
    seen.push(result.stdout, result.stderr)
    return result
  }
  const secrets: string[] = [portal.credentials().clientSecret, await portal.token()]
  const member = (await portal.run(['portal', 'credential', '--data-dir', portal.dataDir, '--json'])).json()
  secrets.push(member.clientSecret)
  await api('POST', '/v1/actions', {
    identifier: 'deploy_with_key',
    invocationMethod: {payload: {key: '{{ .inputs.key }}'}, type: 'KAFKA'},
    trigger: {
      operation: 'CREATE',
      type: 'self-service',
      userInputs: {properties: {key: {encryption: 'aes256-gcm', type: 'string'}}},
    },
  })
  const inputSecret = 'sk_live_input_value_42'
  secrets.push(inputSecret)
  const agent = startCli(['agent', '--handler', 'deploy_with_key=cat; env', '--poll-interval', '100ms'], {
    ...portal.env,
    IDP_DEBUG: 'http',
  })
  const asMember = {
    IDP_API_URL: portal.url,
    IDP_CLIENT_ID: member.clientId,
    IDP_CLIENT_SECRET: member.clientSecret,
    IDP_CONFIG_DIR: tempDir(),
  }
  const run = await cli(['action', 'run', 'deploy_with_key', '--input', `key=${inputSecret}`, '--json'], asMember)
  expect(run.code, run.stdout + run.stderr).toBe(0)
  const runId = JSON.parse(run.stdout.trim().split('\n')[0]!).run.id as string
  await cli(['run', 'list', '--json'])
  await cli(['run', 'logs', runId, '--json'])
  await cli(['auth', 'status', '--json'], asMember)
  agent.child.kill('SIGTERM')
  await agent.exited
  seen.push(agent.stderr(), portal.log())
  for (const line of await logsOf(runId)) seen.push(line)
  seen.push(JSON.stringify(await api('GET', `/v1/actions/runs/${runId}`)))
  // The data files, less the credential store: every table but credentials and tokens.
  const Database = (await import('better-sqlite3')).default
  const db = new Database(join(portal.dataDir, 'portal.db'), {readonly: true})
  for (const {name} of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {name: string}[]) {
    if (name === 'credentials' || name === 'tokens') continue
    seen.push(JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all()))
  }
  db.close()
  expect(readdirSync(portal.dataDir).sort()).toEqual(['portal.db', 'portal.db-shm', 'portal.db-wal'])
  const everything = seen.join('\n')
  expect(everything.length).toBeGreaterThan(1000)
  for (const secret of secrets) expect(everything).not.toContain(secret)
  // Nor in the raw write-ahead log, where a page of any table may sit.
  expect(readFileSync(join(portal.dataDir, 'portal.db-wal')).includes(Buffer.from(inputSecret))).toBe(false)
})
