import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {fakeBackend} from '../helpers/backend.js'
import {BIN, runCli, startCli} from '../helpers/cli.js'
import {localPortal, type CliPortal} from '../helpers/e2e.js'
import {runIdp} from '../helpers/run-command.js'
import {until} from '../helpers/http.js'

let portal: CliPortal
let backend: ReturnType<typeof fakeBackend>

const createEnv = {
  identifier: 'create_env',
  invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
  title: 'Create env',
  trigger: {
    blueprintIdentifier: 'devenv',
    operation: 'CREATE',
    type: 'self-service',
    userInputs: {
      order: ['name', 'ttl', 'outcome', 'token'],
      properties: {
        name: {pattern: '^[a-z0-9-]+$', title: 'Name', type: 'string'},
        outcome: {default: 'SUCCESS', enum: ['SUCCESS', 'FAILURE', 'hang'], type: 'string'},
        token: {encryption: 'aes256-gcm', type: 'string'},
        ttl: {default: {jqQuery: 'now + 5 * 86400 | todate'}, format: 'date-time', title: 'TTL', type: 'string'},
      },
      required: ['name'],
    },
  },
}
const restartEnv = {
  identifier: 'restart_env',
  invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
  requiredApproval: {type: 'ANY'},
  trigger: {blueprintIdentifier: 'devenv', operation: 'DAY-2', type: 'self-service', userInputs: {properties: {}}},
}

const api = (method: string, path: string, body?: unknown) => portal.api(method, path, body)

beforeAll(async () => {
  portal = await localPortal()
  await api('POST', '/v1/blueprints', {
    identifier: 'devenv',
    schema: {properties: {ttl: {format: 'timer', type: 'string'}}},
    title: 'Dev env',
  })
  await api('POST', '/v1/blueprints/devenv/entities', {identifier: 'env-1', title: 'Env one'})
  await api('POST', '/v1/actions', createEnv)
  await api('POST', '/v1/actions', restartEnv)
  backend = fakeBackend(portal.url, () => portal.token())
})
afterAll(async () => {
  await backend.stop()
  await portal.stop()
})

describe('idp action run', () => {
  it('runs with flags and follows the run to SUCCESS (exit 0), printing status, link and each log once', async () => {
    const result = await portal.run([
      'action',
      'run',
      'create_env',
      '--input',
      'name=dev-1',
      '--input',
      'ttl=5d',
      '--input',
      'token=s3cret',
    ])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/^Run r_\w{16} started/m)
    expect(result.stderr).toContain('● IN_PROGRESS')
    expect(result.stderr).toContain(' · Provisioning') // fast changes may arrive together with the next status
    expect(result.stderr).toContain('↗ https://envs.example.com/dev-1')
    expect(result.stderr).toContain('Environment ready')
    expect(result.stderr).toMatch(/✓ SUCCESS after \d+\.\ds/)
    expect(result.stdout.match(/Creating namespace/g)).toHaveLength(1)
    expect(result.stdout.match(/Deploying services/g)).toHaveLength(1)
    expect(result.stdout + result.stderr).not.toContain('s3cret')
    const {runs} = await api('GET', '/v1/actions/runs?action=create_env&limit=1')
    expect(runs[0].properties.token).not.toBe('s3cret')
    expect(Date.parse(runs[0].properties.ttl) - Date.now()).toBeGreaterThan(4.9 * 86_400_000)
  })

  it('exits 9 when the run fails', async () => {
    const result = await portal.run(['action', 'run', 'create_env', '-i', 'name=bad', '-i', 'outcome=FAILURE'])
    expect(result.code).toBe(9)
    expect(result.stderr).toContain('✗ FAILURE')
    expect(result.stderr).toContain('failed: Quota exceeded')
  })

  it('exits 11 when --timeout passes, saying how to follow the run again', async () => {
    const result = await portal.run([
      'action',
      'run',
      'create_env',
      '-i',
      'name=slow',
      '-i',
      'outcome=hang',
      '--timeout',
      '1s',
    ])
    expect(result.code).toBe(11)
    expect(result.stderr).toMatch(/idp run watch r_\w{16}/)
  })

  it('waits for approval and exits 10 when declined', async () => {
    const watching = startCli(['action', 'run', 'restart_env', '--entity', 'env-1'], portal.env)
    let stderr = ''
    watching.child.stderr!.on('data', (chunk) => (stderr += chunk))
    await until(() => stderr.includes('waiting for approval') || undefined, 25_000)
    const id = /Run (r_\w{16})/.exec(stderr)![1]!
    const declined = await portal.run(['run', 'decline', id, '--reason', 'code freeze', '--json'])
    expect(declined.json().run.status).toBe('DECLINED')
    expect(await watching.exited).toBe(10)
    expect(stderr).toContain('was declined: code freeze')
  })

  it('runs after approval with `idp run approve`', async () => {
    const started = await portal.run(['action', 'run', 'restart_env', '--entity', 'env-1', '--no-wait'])
    const id = started.stdout.trim()
    expect(id).toMatch(/^r_\w{16}$/)
    expect((await portal.run(['run', 'get', id, '--json'])).json().run.status).toBe('WAITING_FOR_APPROVAL')
    expect((await portal.run(['run', 'approve', id])).code).toBe(0)
    const watched = await portal.run(['run', 'watch', id])
    expect(watched.code).toBe(0)
  })

  it('enforces who may execute and approve: exit 4 for others; ALL approvals need every approver', async () => {
    const member = async (email: string, teams: string[] = []) => {
      const created = await portal.run([
        'portal',
        'credential',
        '--data-dir',
        portal.dataDir,
        '--email',
        email,
        ...teams.flatMap((team) => ['--team', team]),
        '--json',
      ])
      const {clientId, clientSecret} = created.json()
      const env = {IDP_CLIENT_ID: clientId, IDP_CLIENT_SECRET: clientSecret}
      return (args: string[]) => portal.run([...args, '--api-url', portal.url], env)
    }
    const dev = await member('dev@example.com', ['payments'])
    const lead = await member('lead@example.com')
    const ops = await member('ops@example.com', ['platform'])
    await api('POST', '/v1/actions', {...restartEnv, identifier: 'scale_env', requiredApproval: {type: 'ALL'}})

    const changes = JSON.stringify({
      approve: {roles: [], users: ['lead@example.com', 'ops@example.com']},
      execute: {roles: [], teams: ['payments']},
    })
    const set = await runIdp(['action', 'permissions', 'scale_env', '--set', '-'], {env: portal.env})
    expect(set.code).toBe(3) // stdin was empty: not a permissions object
    expect(set.stderr).toContain('is not a permissions object')
    const applied = await runIdp(['action', 'permissions', 'scale_env', '--set', '-'], {
      env: portal.env,
      input: changes,
    })
    expect(applied.code).toBe(0)
    expect(applied.stdout).toContain('execute  team payments')
    expect(applied.stdout).toContain('approve  lead@example.com, ops@example.com')
    expect((await dev(['action', 'permissions', 'scale_env', '--set', '-'])).code).not.toBe(0)

    const denied = await ops(['action', 'run', 'scale_env', '--entity', 'env-1', '--no-wait'])
    expect(denied.code).toBe(4)
    expect(denied.stderr).toContain('ops@example.com may not execute action "scale_env"')
    expect(denied.stderr).toContain('`idp auth status` shows which credentials were used')

    const started = await dev(['action', 'run', 'scale_env', '--entity', 'env-1', '--no-wait'])
    expect(started.code).toBe(0)
    const id = started.stdout.trim()
    expect((await dev(['run', 'approve', id])).code).toBe(4)
    const first = await lead(['run', 'approve', id])
    expect(first.stdout).toContain('it is now WAITING_FOR_APPROVAL (Approved by 1 of 2)')
    expect((await ops(['run', 'approve', id, '--json'])).json().run.status).toBe('IN_PROGRESS')
    expect((await portal.run(['run', 'watch', id])).code).toBe(0)
  })

  it('prints NDJSON events with --json: created, status, log, finished', async () => {
    const result = await portal.run(['action', 'run', 'create_env', '-i', 'name=json', '--json'])
    expect(result.code).toBe(0)
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(events[0]).toMatchObject({event: 'created', run: {id: expect.stringMatching(/^r_/)}})
    expect(events.at(-1)).toMatchObject({event: 'finished', status: 'SUCCESS'})
    expect(events.filter((e) => e.event === 'log').map((e) => e.message)).toEqual([
      'Waiting for an agent to pick the run up',
      'Creating namespace',
      'Deploying services',
    ])
    expect(events.some((e) => e.event === 'status' && e.statusLabel === 'Provisioning')).toBe(true)
  })

  it('--dry-run checks the inputs and starts nothing', async () => {
    const before = (await api('GET', '/v1/actions/runs?limit=1000')).runs.length
    const result = await portal.run([
      'action',
      'run',
      'create_env',
      '-i',
      'name=dry',
      '-i',
      'token=x',
      '--dry-run',
      '--json',
    ])
    expect(result.code).toBe(0)
    expect(result.json()).toMatchObject({
      body: {properties: {name: 'dry', outcome: 'SUCCESS', token: '[encrypted]'}},
      dryRun: true,
    })
    expect((await api('GET', '/v1/actions/runs?limit=1000')).runs.length).toBe(before)
  })

  it('never prompts without a TTY (or with CI set): missing inputs are a usage error with an example', async () => {
    for (const env of [{}, {CI: 'true'}]) {
      const result = await portal.run(['action', 'run', 'create_env'], env)
      expect(result.code).toBe(2)
      expect(result.stderr).toContain('Missing required inputs of "create_env":\n  name (string): --input name=<name>')
      expect(result.stderr).toContain('Example: idp action run create_env --input name=<name>')
    }
    const day2 = await portal.run(['action', 'run', 'restart_env'])
    expect(day2.code).toBe(2)
    expect(day2.stderr).toContain('--entity <devenv identifier>')
  })

  it('names the input and the flag that fixes a bad value', async () => {
    const cases: [string[], string][] = [
      [['-i', 'name=Bad Name'], 'name: does not match ^[a-z0-9-]+$ (fix with --input name=<name>)'],
      [['-i', 'name=x', '-i', 'outcome=MAYBE'], 'outcome: must be one of "SUCCESS", "FAILURE", "hang"'],
      [['-i', 'name=x', '-i', 'ttl=someday'], '--input ttl: expects a time'],
      [['-i', 'nope=1'], '--input nope: "create_env" has no input "nope"'],
      [['-i', 'name'], '--input "name" is not key=value'],
    ]
    for (const [args, message] of cases) {
      const result = await portal.run(['action', 'run', 'create_env', ...args])
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr).toContain(message)
    }
  })

  it('takes inputs from a file or stdin', async () => {
    const result = await runIdp(['action', 'run', 'create_env', '--inputs-file', '-', '--no-wait', '--json'], {
      env: portal.env,
    })
    expect(result.code).toBe(2) // empty stdin is not an object
    // Through a real pipe: the built CLI reads its stdin.
    const piped = await runCli(['action', 'run', 'create_env', '--inputs-file', '-', '--no-wait', '--json'], {
      env: portal.env,
      input: 'name: from-yaml\n',
    })
    expect(piped.code, piped.stderr).toBe(0)
    expect(JSON.parse(piped.stdout.split('\n')[0]!).run.properties.name).toBe('from-yaml')

    // A file's text is typed as --input types it: "2d" is a time from now, whatever the source.
    const typed = await runCli(['action', 'run', 'create_env', '--inputs-file', '-', '--no-wait', '--json'], {
      env: portal.env,
      input: '{"name": "from-json", "ttl": "2d"}',
    })
    expect(typed.code, typed.stdout).toBe(0)
    const ttl = JSON.parse(typed.stdout.split('\n')[0]!).run.properties.ttl as string
    expect(Date.parse(ttl) - Date.now()).toBeGreaterThan(47 * 3600_000)
  })

  it('Ctrl-C stops watching (exit 130) and says how to follow the run again', async () => {
    const watching = startCli(['action', 'run', 'create_env', '-i', 'name=ctrl-c', '-i', 'outcome=hang'], portal.env)
    let stderr = ''
    watching.child.stderr!.on('data', (chunk) => (stderr += chunk))
    await until(() => stderr.includes('● IN_PROGRESS') || undefined, 25_000)
    watching.child.kill('SIGINT')
    expect(await watching.exited).toBe(130)
    expect(stderr).toMatch(/the run goes on\. Follow it again with: idp run watch r_\w{16}/)
  })
})

describe('idp run', () => {
  it('lists, gets, prints logs, and exits 5 for an unknown run', async () => {
    const list = await portal.run(['run', 'list', '--action', 'create_env', '--status', 'SUCCESS', '--json'])
    const runs = list.json().runs
    expect(runs.length).toBeGreaterThan(0)
    expect(runs.every((run: {status: string}) => run.status === 'SUCCESS')).toBe(true)
    const logs = await portal.run(['run', 'logs', runs[0].id])
    expect(logs.stdout).toMatch(/Creating namespace\n.*Deploying services/)
    const get = await portal.run(['run', 'get', runs[0].id])
    expect(get.stdout).toContain('status       SUCCESS · Provisioning')
    for (const command of [
      ['run', 'get', 'r_nope'],
      ['run', 'watch', 'r_nope'],
    ]) {
      expect((await portal.run(command)).code).toBe(5)
    }
    // A mistyped run id or action name gets the closest one.
    const typo = `${runs[0].id.slice(0, -1)}${runs[0].id.endsWith('x') ? 'y' : 'x'}`
    expect((await portal.run(['run', 'get', typo])).stderr).toContain(`Did you mean "${runs[0].id}"?`)
    const action = await portal.run(['action', 'run', 'create_evn', '--no-input'])
    expect(action.code).toBe(5)
    expect(action.stderr).toContain('Did you mean "create_env"?')
    expect(BIN).toBeTruthy()
  })
})

describe('the audit log from the CLI', () => {
  it('run get lists the entity changes made for the run; entity history shows old → new', async () => {
    const {id} = (await api('POST', '/v1/actions/restart_env/runs', {entity: 'env-1', properties: {}})).run
    await api('POST', `/v1/blueprints/devenv/entities?upsert=true&merge=true&run_id=${id}`, {
      identifier: 'env-1',
      title: 'Env one (restarted)',
    })
    const get = await portal.run(['run', 'get', id])
    expect(get.stdout).toMatch(/changed\s+UPDATE devenv\/env-1: title: Env one → Env one \(restarted\)/)
    expect((await portal.run(['run', 'get', id, '--json'])).json().changes).toMatchObject([
      {action: 'UPDATE', context: {entity: 'env-1', runId: id}},
    ])
    const history = await portal.run(['entity', 'history', 'env-1', '-b', 'devenv'])
    expect(history.code).toBe(0)
    const lines = history.stdout.trim().split('\n')
    expect(lines[0]).toContain('UPDATE\ttitle: Env one → Env one (restarted)')
    expect(lines[0]).toContain(id)
    expect(lines.at(-1)).toContain('CREATE\tcreated')
  })
})
