import {chmodSync, existsSync, mkdirSync, statSync, writeFileSync} from 'node:fs'
import {connect} from 'node:net'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startPortal} from '../../src/portal/server.js'
import {request} from '../helpers/http.js'
import {tempDir} from '../helpers/portal.js'
import {caller, login, startRolesPortal, type RolesPortal} from './helpers.js'

let portal: RolesPortal
const mode = (file: string) => (statSync(file).mode & 0o777).toString(8)

beforeAll(async () => {
  portal = await startRolesPortal({retryBaseMs: 20})
  const admin = portal.asAdmin
  await admin.call('POST', '/v1/blueprints', {
    identifier: 'env',
    schema: {properties: {ttl: {format: 'timer', type: 'string'}}},
    title: 'Env',
  })
  await admin.call('POST', '/v1/blueprints', {identifier: 'svc', schema: {properties: {}}, title: 'Service'})
  for (const id of ['keep-1', 'keep-2']) await admin.call('POST', '/v1/blueprints/svc/entities', {identifier: id})
  await admin.call('POST', '/v1/actions', {
    identifier: 'victim',
    invocationMethod: {type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
    trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
  })
  await admin.call('POST', '/v1/actions', {
    identifier: 'queued',
    invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
    trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
  })
})
afterAll(() => portal.stop())

const runOf = async (id: string) => (await portal.asAdmin.call('GET', `/v1/actions/runs/${id}`)).body.run
const ended = (id: string) =>
  portal.until(async () => {
    const run = await runOf(id)
    return ['SUCCESS', 'FAILURE'].includes(run.status) ? run : undefined
  })
const logsOf = async (id: string) =>
  (await portal.asAdmin.call('GET', `/v1/actions/runs/${id}/logs?limit=50`)).body.runLogs.map(
    (log: {message: string}) => log.message,
  )

describe('1. self-calls reach exactly the resource their template names', () => {
  const ttlAutomation = (identifier: string, url: string) =>
    portal.asAdmin.call('POST', '/v1/actions', {
      identifier,
      invocationMethod: {method: 'DELETE', synchronized: true, type: 'WEBHOOK', url},
      trigger: {
        event: {blueprintIdentifier: 'env', propertyIdentifier: 'ttl', type: 'TIMER_PROPERTY_EXPIRED'},
        type: 'automation',
      },
    })
  const expiring = (identifier: string) =>
    portal.member.call('POST', '/v1/blueprints/env/entities', {
      identifier,
      properties: {ttl: new Date(Date.now() + 200).toISOString()},
    })
  const automationRun = (action: string) =>
    portal.until(async () => {
      const {runs} = (await portal.asAdmin.call('GET', `/v1/actions/runs?action=${action}`)).body
      return runs.length > 0 ? ended(runs[0].id) : undefined
    })

  it('an identifier with "/" and ".." segments deletes that entity only, not an action or other entities', async () => {
    await ttlAutomation(
      'ttl_interpolated',
      'https://api.port.io/v1/blueprints/env/entities/{{ .event.context.entityIdentifier }}',
    )
    const evil = 'x/../../../../actions/victim'
    expect((await expiring(evil)).status).toBe(201)
    expect(await automationRun('ttl_interpolated')).toMatchObject({status: 'SUCCESS'})
    expect((await portal.asAdmin.call('GET', '/v1/actions/victim')).status).toBe(200)
    expect((await portal.asAdmin.call('GET', `/v1/blueprints/env/entities/${encodeURIComponent(evil)}`)).status).toBe(
      404,
    )
    await portal.asAdmin.call('DELETE', '/v1/actions/ttl_interpolated')
  })

  it('a URL built whole by one expression is refused when its path has dot-segments; the run says why', async () => {
    await ttlAutomation(
      'ttl_whole',
      '{{ "https://api.port.io/v1/blueprints/svc/entities/" + .event.context.entityIdentifier }}',
    )
    expect((await expiring('a/../../svc/all-entities')).status).toBe(201)
    const run = await automationRun('ttl_whole')
    expect(run.status).toBe('FAILURE')
    expect(run.summary).toMatch(/Refused to call the portal's API .*"\." or "\.\." segment/)
    expect((await logsOf(run.id)).join('\n')).toMatch(/Refused/)
    expect((await portal.asAdmin.call('GET', '/v1/blueprints/svc/entities-count')).body.count).toBe(2)
    await portal.asAdmin.call('DELETE', '/v1/actions/ttl_whole')
  })
})

describe('2. run tokens report on their own run and do nothing else', () => {
  it('cannot approve, mint tokens, or touch another run; it ends with its run', async () => {
    await portal.asAdmin.call('PUT', '/v1/actions/victim', {
      identifier: 'victim',
      invocationMethod: {type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
      requiredApproval: true,
      trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
    })
    const waiting = (await portal.member.call('POST', '/v1/actions/victim/runs', {properties: {}})).body.run
    expect(waiting.status).toBe('WAITING_FOR_APPROVAL')
    const mine = (await portal.asAdmin.call('POST', '/v1/actions/queued/runs', {properties: {}})).body.run
    const token = await portal.runToken(mine.id, portal.agent)

    expect((await token.call('PATCH', `/v1/actions/runs/${waiting.id}/approval`, {status: 'APPROVE'})).status).toBe(403)
    expect((await token.call('POST', '/v1/idp/run-tokens', {runIds: [waiting.id]})).status).toBe(403)
    expect((await token.call('POST', '/v1/idp/run-tokens', {runIds: [mine.id]})).status).toBe(403)
    expect((await token.call('PATCH', `/v1/actions/runs/${waiting.id}`, {status: 'FAILURE'})).status).toBe(403)
    expect((await token.call('POST', '/v1/actions/runs/claim-pending', {})).status).toBe(403)
    expect((await token.call('GET', '/v1/blueprints')).status).toBe(403)
    expect((await token.call('POST', '/v1/blueprints/svc/entities', {identifier: 'untied'})).status).toBe(403)
    expect((await runOf(waiting.id)).status).toBe('WAITING_FOR_APPROVAL')

    expect((await token.call('POST', `/v1/actions/runs/${mine.id}/logs`, {message: 'working'})).status).toBe(201)
    expect(
      (await token.call('POST', `/v1/blueprints/svc/entities?upsert=true&run_id=${mine.id}`, {identifier: 'made'}))
        .status,
    ).toBe(201)
    expect((await token.call('PATCH', `/v1/actions/runs/${mine.id}`, {status: 'SUCCESS'})).status).toBe(200)
    expect((await token.call('GET', `/v1/actions/runs/${mine.id}`)).status).toBe(401)
    await portal.asAdmin.call('DELETE', '/v1/blueprints/svc/entities/made')
  })
})

describe('3. only agents and admins drive the agent queue; members report only on their own runs', () => {
  it('a member cannot claim, ack or release runs, nor end an admin’s run', async () => {
    const run = (await portal.asAdmin.call('POST', '/v1/actions/queued/runs', {properties: {}})).body.run
    await portal.until(async () => ((await runOf(run.id)).pendingExecution ? true : undefined))
    for (const [method, path, body] of [
      ['POST', '/v1/actions/runs/claim-pending', {}],
      ['PATCH', '/v1/actions/runs/ack', {runIds: [run.id]}],
      ['PATCH', '/v1/actions/runs/release', {runIds: [run.id]}],
      ['PATCH', `/v1/actions/runs/${run.id}`, {status: 'FAILURE'}],
      ['POST', `/v1/actions/runs/${run.id}/logs`, {message: 'x', terminationStatus: 'FAILURE'}],
    ] as const) {
      const answer = await portal.member.call(method, path, body)
      expect(answer.status, `${method} ${path}`).toBe(403)
      expect(JSON.stringify(answer.body)).not.toContain('"payload"')
    }
    expect((await runOf(run.id)).status).toBe('IN_PROGRESS')
    const claimed = (await portal.agent.call('POST', '/v1/actions/runs/claim-pending', {})).body.runs
    expect(claimed.map((item: {id: string}) => item.id)).toContain(run.id)
    expect((await portal.agent.call('PATCH', '/v1/actions/runs/ack', {runIds: [run.id]})).body.ackedCount).toBe(1)
  })

  it('a member reports on a run it started', async () => {
    const run = (await portal.member.call('POST', '/v1/actions/queued/runs', {properties: {}})).body.run
    expect((await portal.member.call('PATCH', `/v1/actions/runs/${run.id}`, {statusLabel: 'mine'})).status).toBe(200)
    expect((await portal.other.call('PATCH', `/v1/actions/runs/${run.id}`, {statusLabel: 'x'})).status).toBe(403)
  })

  it('runs of an action with allowAnyoneToViewRuns: false are seen by their starter, admins and agents only', async () => {
    await portal.asAdmin.call('POST', '/v1/actions', {
      allowAnyoneToViewRuns: false,
      identifier: 'private_runs',
      invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
      trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
    })
    const run = (await portal.member.call('POST', '/v1/actions/private_runs/runs', {properties: {}})).body.run
    expect((await portal.member.call('GET', `/v1/actions/runs/${run.id}`)).status).toBe(200)
    expect((await portal.other.call('GET', `/v1/actions/runs/${run.id}`)).status).toBe(404)
    expect((await portal.other.call('GET', `/v1/actions/runs/${run.id}/logs`)).status).toBe(404)
    const listed = (await portal.other.call('GET', '/v1/actions/runs?action=private_runs')).body.runs
    expect(listed).toEqual([])
    expect((await portal.agent.call('GET', `/v1/actions/runs/${run.id}`)).status).toBe(200)
  })
})

describe('4. catalog ownership records are admin-only', () => {
  it('members cannot write, replace or delete idp-catalog-source entities', async () => {
    await portal.asAdmin.call('POST', '/v1/blueprints', {
      identifier: 'idp-catalog-source',
      schema: {properties: {identifiers: {type: 'array'}, sourceKey: {type: 'string'}}},
      title: 'idp catalog source',
    })
    const forged = {identifier: 'forged', properties: {identifiers: ['keep-1'], sourceKey: 'k'}}
    const base = '/v1/blueprints/idp-catalog-source'
    expect((await portal.member.call('POST', `${base}/entities?upsert=true`, forged)).status).toBe(403)
    expect((await portal.member.call('POST', `${base}/entities/bulk`, {entities: [forged]})).status).toBe(403)
    expect((await portal.asAdmin.call('POST', `${base}/entities`, forged)).status).toBe(201)
    expect((await portal.member.call('PATCH', `${base}/entities/forged`, {properties: {}})).status).toBe(403)
    expect((await portal.member.call('DELETE', `${base}/entities/forged`)).status).toBe(403)
    expect((await portal.member.call('POST', `${base}/bulk/entities/delete`, {entities: ['forged']})).status).toBe(403)
    expect((await portal.member.call('GET', `${base}/entities/forged`)).status).toBe(200)
  })
})

describe('6. data files are private from the first byte', () => {
  it('a new data directory is 0700 and the database, its -wal and -shm are 0600', async () => {
    const dataDir = join(tempDir(), 'fresh')
    const fresh = await startPortal({dataDir, port: 0})
    await fresh.core.write(() => fresh.core.credentials.create({role: 'member'}))
    expect(mode(dataDir)).toBe('700')
    for (const file of ['portal.db', 'portal.db-wal', 'portal.db-shm']) {
      expect(existsSync(join(dataDir, file)), file).toBe(true)
      expect(mode(join(dataDir, file)), file).toBe('600')
    }
    expect(fresh.warnings).toEqual([])
    await fresh.close()
  })

  it('a data directory others can read is tightened, with a warning', async () => {
    const dataDir = join(tempDir(), 'loose')
    mkdirSync(dataDir, {mode: 0o755})
    chmodSync(dataDir, 0o755)
    writeFileSync(join(dataDir, 'portal.db'), '', {mode: 0o644})
    chmodSync(join(dataDir, 'portal.db'), 0o644)
    const loose = await startPortal({dataDir, port: 0})
    expect(loose.warnings.join('\n')).toMatch(/readable by others.*0700[\s\S]*portal\.db was readable/)
    expect(mode(dataDir)).toBe('700')
    expect(mode(join(dataDir, 'portal.db'))).toBe('600')
    await loose.close()
  })
})

describe('7. credentials can be listed and revoked', () => {
  it('revoking ends the credential’s tokens (its run tokens too) at once; the organisation’s stays', async () => {
    const made = (await portal.asAdmin.call('POST', '/v1/idp/credentials', {role: 'agent', email: 'ci@example.com'}))
      .body.credential
    const agent = caller(portal.url, await login(portal.url, made.clientId, made.clientSecret))
    const run = (await portal.asAdmin.call('POST', '/v1/actions/queued/runs', {properties: {}})).body.run
    const runToken = await portal.runToken(run.id, agent)
    expect((await agent.call('GET', '/v1/blueprints')).status).toBe(200)

    const listed = (await portal.asAdmin.call('GET', '/v1/idp/credentials')).body.credentials
    expect(listed).toContainEqual(expect.objectContaining({clientId: made.clientId, role: 'agent'}))
    expect(JSON.stringify(listed)).not.toContain(made.clientSecret)
    expect(JSON.stringify(listed)).not.toContain(portal.admin.clientSecret)

    expect((await portal.asAdmin.call('DELETE', `/v1/idp/credentials/${made.clientId}`)).status).toBe(200)
    expect((await agent.call('GET', '/v1/blueprints')).status).toBe(401)
    expect((await runToken.call('GET', `/v1/actions/runs/${run.id}`)).status).toBe(401)
    const credentials = {clientId: made.clientId, clientSecret: made.clientSecret}
    expect((await request(portal.url, 'POST', '/v1/auth/access_token', {body: credentials})).status).toBe(401)
    const org = await portal.asAdmin.call('DELETE', `/v1/idp/credentials/${portal.admin.clientId}`)
    expect(org.status).toBe(409)
    expect(org.body.message).toMatch(/organisation's credential/)
  })
})

describe('8. requests are bounded before anyone is authenticated', () => {
  /** Sends headers declaring a huge body, then body bytes as fast as the socket takes them. */
  const flood = (path: string, auth = '') =>
    new Promise<{status: string; sent: number}>((resolve, reject) => {
      const {hostname, port} = new URL(portal.url)
      const socket = connect(Number(port), hostname)
      let reply = ''
      let sent = 0
      const chunk = Buffer.alloc(64 * 1024, 'a')
      const pump = () => {
        while (sent < 512 * 1024 * 1024 && socket.writable) {
          sent += chunk.length
          if (!socket.write(chunk)) return void socket.once('drain', pump)
        }
      }
      socket.on('connect', () => {
        socket.write(
          `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1073741824\r\n${auth}\r\n`,
        )
        pump()
      })
      socket.on('data', (data) => (reply += data))
      socket.on('error', () => undefined)
      socket.on('close', () => resolve({sent, status: reply.split('\r\n')[0] ?? ''}))
      setTimeout(() => reject(new Error(`still open after sending ${sent} bytes`)), 15_000).unref()
    })

  it('an anonymous request with a gigabyte body is answered 401 and its connection closed', async () => {
    const {sent, status} = await flood('/v1/blueprints')
    expect(status).toMatch(/ 401 /)
    expect(sent).toBeLessThan(512 * 1024 * 1024)
  })

  it('an unknown route gets 404 and the same treatment', async () => {
    const {sent, status} = await flood('/v1/nothing-here')
    expect(status).toMatch(/ 404 /)
    expect(sent).toBeLessThan(512 * 1024 * 1024)
  })

  it('the token route caps its body at 1 MiB', async () => {
    const {status} = await flood('/v1/auth/access_token')
    expect(status).toMatch(/ 413 /)
  })
})

describe('9. smaller holes', () => {
  it('secret inputs’ constraints are checked on the plain text, and the refusal does not echo it', async () => {
    await portal.asAdmin.call('POST', '/v1/actions', {
      identifier: 'with_secret',
      invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
      trigger: {
        operation: 'CREATE',
        type: 'self-service',
        userInputs: {
          properties: {token: {encryption: 'aes256-gcm', minLength: 12, pattern: '^tok_', type: 'string'}},
        },
      },
    })
    const short = await portal.member.call('POST', '/v1/actions/with_secret/runs', {properties: {token: 'tok_abc'}})
    expect(short.status).toBe(422)
    expect(short.body.message).toMatch(/\/properties\/token .*fewer than 12/)
    expect(short.body.message).not.toContain('tok_abc')
    const good = await portal.member.call('POST', '/v1/actions/with_secret/runs', {
      properties: {token: 'tok_abcdefghijkl'},
    })
    expect(good.status).toBe(202)
    expect(good.body.run.properties.token).not.toContain('tok_abcdefghijkl')
  })

  it('blueprints may not name properties or relations __proto__, constructor or prototype', async () => {
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const answer = await portal.asAdmin.call('POST', '/v1/blueprints', {
        identifier: `bad-${name.replaceAll('_', '')}`,
        schema: {properties: JSON.parse(`{"${name}": {"type": "string"}}`)},
        title: 'Bad',
      })
      expect(answer.status, name).toBe(422)
      expect(answer.body.message).toContain(name)
    }
  })

  it('a search rule on an inherited name such as constructor matches no entity', async () => {
    for (const property of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const {body, status} = await portal.member.call('POST', '/v1/blueprints/svc/entities/search', {
        query: {combinator: 'and', rules: [{operator: 'isNotEmpty', property}]},
      })
      expect(status, property).toBe(200)
      expect(body.entities, property).toEqual([])
    }
  })
})

describe('indirect paths to ownership records', () => {
  it('a member’s run of an UPSERT_ENTITY action cannot write idp-catalog-source entities', async () => {
    await portal.asAdmin.call('POST', '/v1/actions', {
      identifier: 'upsert_anything',
      invocationMethod: {
        blueprintIdentifier: '{{ .inputs.blueprint }}',
        mapping: {identifier: '{{ .inputs.id }}', properties: {identifiers: ['keep-1'], sourceKey: 'k'}},
        type: 'UPSERT_ENTITY',
      },
      trigger: {
        operation: 'CREATE',
        type: 'self-service',
        userInputs: {properties: {blueprint: {type: 'string'}, id: {type: 'string'}}},
      },
    })
    const properties = {blueprint: 'idp-catalog-source', id: 'via-upsert'}
    const run = (await portal.member.call('POST', '/v1/actions/upsert_anything/runs', {properties})).body.run
    expect(await ended(run.id)).toMatchObject({status: 'FAILURE', summary: expect.stringMatching(/Only admins/)})
    const base = '/v1/blueprints/idp-catalog-source/entities'
    expect((await portal.asAdmin.call('GET', `${base}/via-upsert`)).status).toBe(404)
    const asAdmin = (await portal.asAdmin.call('POST', '/v1/actions/upsert_anything/runs', {properties})).body.run
    expect(await ended(asAdmin.id)).toMatchObject({status: 'SUCCESS'})
  })
})
