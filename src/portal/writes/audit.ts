import type {AuditRecord} from '../../model/port.js'
import {sortableId} from '../ids.js'
import type {DefinitionChange, PortalChange} from './change.js'
import {toWire} from '../catalog/wire.js'

const AUTOMATION_PREFIX = 'automation:'
/** Who an automation's runs and their changes are credited to, as Port credits the automation. */
export const automationActor = (automation: {identifier: string}) => AUTOMATION_PREFIX + automation.identifier

/** The embedded portal's organisation id, as events, payloads and audit records carry it. */
export const ORG_ID = 'org_idp'

/** The audit record of one change made at `at`; timer firings are not audited. */
export function auditRecord(change: PortalChange | DefinitionChange, at: string): AuditRecord | undefined {
  const base = {additionalData: {}, identifier: sortableId('audit'), status: 'SUCCESS' as const}
  const trigger = (by: string) => ({
    at,
    by: {orgId: ORG_ID, userId: by},
    origin: by.startsWith(AUTOMATION_PREFIX) ? 'AUTOMATION' : 'API',
  })
  if ('resourceType' in change) {
    return {
      ...base,
      action: change.action,
      context: change.resourceType === 'blueprint' ? {blueprint: change.identifier} : {action: change.identifier},
      diff: {after: change.after, before: change.before},
      resourceType: change.resourceType,
      trigger: trigger(change.by),
    }
  }
  if (change.kind === 'entity') {
    return {
      ...base,
      action: change.action,
      context: {
        blueprint: change.blueprint,
        entity: change.identifier,
        ...(change.runId === undefined ? {} : {runId: change.runId}),
      },
      diff: {after: change.after && toWire(change.after), before: change.before && toWire(change.before)},
      resourceType: 'entity',
      trigger: trigger(change.by),
    }
  }
  if (change.kind === 'run') {
    const run = change.after
    return {
      ...base,
      action: change.action,
      context: {
        action: run.action.identifier,
        runId: run.id,
        ...(run.blueprint ? {blueprint: run.blueprint.identifier} : {}),
        ...(run.entity ? {entity: run.entity.identifier} : {}),
      },
      diff: {after: run, before: change.before},
      resourceType: 'run',
      trigger: trigger(change.by),
    }
  }
  return undefined
}
