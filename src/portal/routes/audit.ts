import {refKey, type AuditRecord} from '../../model/port.js'
import {forbidden} from '../auth/access.js'
import {listParam} from '../http/params.js'
import {PortalError} from '../http/errors.js'
import type {RequestContext, Route} from '../http/router.js'
import {MAX_UNPAGED, ok, type RouteKit} from './kit.js'

const RESOURCES = ['blueprint', 'entity', 'run', 'webhook', 'scorecard', 'action', 'integration']
const INCLUDES = [
  'action',
  'context',
  'diff',
  'identifier',
  'resourceType',
  'status',
  'trigger',
  'additionalData',
  'message',
]

const bad = (message: string) => new PortalError(422, 'invalid_request', message)

function oneOf(request: RequestContext, name: string, allowed: string[]): string | undefined {
  const value = request.query.get(name) ?? undefined
  if (value !== undefined && !allowed.includes(value))
    throw bad(`Query parameter "${name}" must be one of ${allowed.join(', ')}, got "${value}"`)
  return value
}

function time(request: RequestContext, name: string): string | undefined {
  const value = request.query.get(name)
  if (value === null) return undefined
  const parsed = Date.parse(value)
  if (Number.isNaN(parsed)) throw bad(`Query parameter "${name}" must be an ISO date-time, got "${value}"`)
  return new Date(parsed).toISOString()
}

/**
 * The audit log (`GET /v1/audit-log`): blueprint, entity, action and run changes, newest first.
 * As on Port, admins read all of it; other callers must name one record (`identifier`), an
 * entity or a run, and see records of entities that still exist and runs they may see.
 */
export function auditRoutes(kit: RouteKit): Route[] {
  const {maySee, runs, store} = kit
  return [
    {
      auth: 'member',
      handler: async (request) => {
        const {query, principal} = request
        const limitText = query.get('limit')
        const limit = limitText === null ? 1000 : Number(limitText)
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_UNPAGED)
          throw bad(`Query parameter "limit" must be a whole number from 1 to ${MAX_UNPAGED}`)
        const resources = listParam(query, 'resources')
        const unknown = resources.find((resource) => !RESOURCES.includes(resource))
        if (unknown) throw bad(`Query parameter "resources" must name ${RESOURCES.join(', ')}; got "${unknown}"`)
        const includes = listParam(query, 'includes')
        const unknownInclude = includes.find((field) => !INCLUDES.includes(field))
        if (unknownInclude)
          throw bad(`Query parameter "includes" must name ${INCLUDES.join(', ')}; got "${unknownInclude}"`)
        const filter = {
          action: oneOf(request, 'action', ['CREATE', 'UPDATE', 'DELETE']),
          blueprint: query.get('blueprint') ?? undefined,
          entity: query.get('entity') ?? undefined,
          from: time(request, 'from'),
          identifier: query.get('identifier') ?? undefined,
          limit,
          resources,
          runId: query.get('run_id') ?? undefined,
          status: oneOf(request, 'status', ['SUCCESS', 'FAILURE']),
          to: time(request, 'to'),
        }
        const admin = principal.kind === 'admin'
        if (!admin && !filter.identifier && !filter.entity && !filter.runId) {
          throw forbidden('Only admins may read the whole audit log; pass entity, run_id or identifier')
        }
        let records = await store.audits(filter)
        if (!admin) records = await visible(records)
        return ok({audits: includes.length ? records.map((record) => pick(record, includes)) : records})

        /** A member's view: entities that still exist, runs the caller may see. */
        async function visible(all: AuditRecord[]) {
          const seen = new Map<string, boolean>()
          const check = async (key: string, test: () => Promise<boolean>) => {
            if (!seen.has(key)) seen.set(key, await test())
            return seen.get(key)!
          }
          const kept: AuditRecord[] = []
          for (const record of all) {
            const {blueprint, entity, runId} = record.context
            if (runId && !(await check(`run:${runId}`, async () => maySeeRun(runId)))) continue
            if (
              record.resourceType === 'entity' &&
              !(await check(`entity:${refKey({blueprint: blueprint!, identifier: entity!})}`, async () =>
                Boolean(await store.getEntity(blueprint!, entity!)),
              ))
            )
              continue
            kept.push(record)
          }
          return kept
        }
        async function maySeeRun(id: string) {
          const run = await runs.get(id).catch(() => undefined)
          return run !== undefined && (await maySee(request, run))
        }
      },
      method: 'GET',
      pattern: '/v1/audit-log',
    },
  ]
}

const pick = (record: AuditRecord, fields: string[]) =>
  Object.fromEntries(Object.entries(record).filter(([key]) => fields.includes(key)))
