import {afterAll, beforeAll, expect, it} from 'vitest'

import {startRolesPortal, type RolesPortal} from '../security/helpers.js'

/**
 * Changes a run makes are the run's, as in Port's audit log: a backend's entity upsert and a
 * self-call (a webhook to the portal's own API) are credited to whoever started the run and tied
 * to it; an automation's to the automation.
 */
let portal: RolesPortal

beforeAll(async () => {
  portal = await startRolesPortal()
  const admin = portal.asAdmin
  await admin.call('POST', '/v1/blueprints', {
    identifier: 'env',
    schema: {properties: {days: {type: 'number'}, ttl: {format: 'timer', type: 'string'}}},
    title: 'Env',
  })
  await admin.call('POST', '/v1/actions', {
    identifier: 'extend_env',
    invocationMethod: {
      blueprintIdentifier: 'env',
      mapping: {identifier: '{{ .entity.identifier }}', properties: {days: '{{ .inputs.days }}'}},
      type: 'UPSERT_ENTITY',
    },
    trigger: {
      blueprintIdentifier: 'env',
      operation: 'DAY-2',
      type: 'self-service',
      userInputs: {properties: {days: {type: 'number'}}},
    },
  })
  // delete_dev_env's shape: a synchronized DELETE of Port's API, which the portal sends to itself.
  const selfDelete = (entity: string) => ({
    headers: {RUN_ID: '{{ .run.id }}'},
    method: 'DELETE',
    synchronized: true,
    type: 'WEBHOOK',
    url: `https://api.port.io/v1/blueprints/env/entities/${entity}?delete_dependents=false`,
  })
  await admin.call('POST', '/v1/actions', {
    identifier: 'delete_env',
    invocationMethod: selfDelete('{{ .entity.identifier }}'),
    trigger: {blueprintIdentifier: 'env', operation: 'DELETE', type: 'self-service', userInputs: {properties: {}}},
  })
  await admin.call('POST', '/v1/actions', {
    identifier: 'env_ttl',
    invocationMethod: selfDelete('{{ .event.context.entityIdentifier }}'),
    publish: true,
    trigger: {
      event: {blueprintIdentifier: 'env', propertyIdentifier: 'ttl', type: 'TIMER_PROPERTY_EXPIRED'},
      type: 'automation',
    },
  })
  for (const identifier of ['extended', 'deleted'])
    await admin.call('POST', '/v1/blueprints/env/entities', {identifier})
})
afterAll(() => portal.stop())

const ended = (runId: string) =>
  portal.until(async () => {
    const {run} = (await portal.asAdmin.call('GET', `/v1/actions/runs/${runId}`)).body
    return run.status === 'IN_PROGRESS' ? undefined : run
  })

it('an UPSERT_ENTITY backend’s change is the member’s who ran it, tied to the run', async () => {
  const {member} = portal
  const started = await member.call('POST', '/v1/actions/extend_env/runs', {entity: 'extended', properties: {days: 3}})
  const runId = started.body.run.id
  expect(await ended(runId)).toMatchObject({status: 'SUCCESS', updatedBy: member.clientId})
  // What `idp run get` reads: the member names the run.
  const {audits} = (await member.call('GET', `/v1/audit-log?run_id=${runId}&resources=entity`)).body
  expect(audits).toMatchObject([
    {
      action: 'UPDATE',
      context: {blueprint: 'env', entity: 'extended', runId},
      diff: {after: {properties: {days: 3}}},
      trigger: {by: {userId: member.clientId}, origin: 'API'},
    },
  ])
  const entity = (await member.call('GET', '/v1/blueprints/env/entities/extended')).body.entity
  expect(entity.updatedBy).toBe(member.clientId)
})

it('a self-call’s delete is the member’s who ran it, tied to the run, not the admin’s', async () => {
  const {member} = portal
  const runId = (await member.call('POST', '/v1/actions/delete_env/runs', {entity: 'deleted', properties: {}})).body.run
    .id
  expect(await ended(runId)).toMatchObject({status: 'SUCCESS'})
  // Members do not see deleted entities in the audit log (as on Port); an admin reads it.
  const {audits} = (await portal.asAdmin.call('GET', `/v1/audit-log?run_id=${runId}&resources=entity`)).body
  expect(audits).toMatchObject([
    {action: 'DELETE', context: {entity: 'deleted', runId}, trigger: {by: {userId: member.clientId}}},
  ])
  expect(audits[0].trigger.by.userId).not.toBe(portal.admin.clientId)
})

it('the TTL clean-up’s delete is the automation’s, tied to its run', async () => {
  const {asAdmin} = portal
  await asAdmin.call('POST', '/v1/blueprints/env/entities', {
    identifier: 'expiring',
    properties: {ttl: new Date(Date.now() + 200).toISOString()},
  })
  const deleted = await portal.until(async () => {
    const {audits} = (await asAdmin.call('GET', '/v1/audit-log?entity=expiring&blueprint=env')).body
    return audits.find((record: {action: string}) => record.action === 'DELETE')
  })
  const {runs} = (await asAdmin.call('GET', '/v1/actions/runs?action=env_ttl')).body
  expect(runs).toMatchObject([{createdBy: 'automation:env_ttl', source: 'AUTOMATION'}])
  expect(deleted).toMatchObject({
    context: {entity: 'expiring', runId: runs[0].id},
    trigger: {by: {userId: 'automation:env_ttl'}, origin: 'AUTOMATION'},
  })
})
