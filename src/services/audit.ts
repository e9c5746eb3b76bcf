import {usageError} from '../errors.js'
import type {AuditFilter} from '../model/port.js'
import {parseDuration} from '../shared/when.js'

export interface AuditFlags {
  entity?: string | undefined
  blueprint?: string | undefined
  run?: string | undefined
  action?: string | undefined
  resource?: string[] | undefined
  status?: string | undefined
  from?: string | undefined
  to?: string | undefined
  limit: number
}

/**
 * A point in the past from what people type: an ISO date or date-time, `now`, or a duration
 * back from now (`1h`, `2 days`, `30m ago`).
 */
export function pastTime(flag: string, text: string, now: Date): string {
  const value = text.trim().toLowerCase()
  if (value === 'now') return now.toISOString()
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const date = new Date(text.trim())
    if (!Number.isNaN(date.getTime())) return date.toISOString()
  } else {
    const duration = parseDuration(value.replace(/\s*ago$/, ''))
    if (duration !== undefined) return new Date(now.getTime() - duration).toISOString()
  }
  throw usageError(
    `${flag} ${text}: not a time.`,
    'Give an ISO date or date-time (2026-01-31, 2026-01-31T12:00:00Z) or how long ago (1h, 2 days, 30m).',
  )
}

function oneOf(flag: string, value: string | undefined, allowed: string[]): string | undefined {
  if (value === undefined) return undefined
  const upper = value.toUpperCase()
  if (!allowed.includes(upper)) throw usageError(`${flag} ${value}: one of ${allowed.join(', ')} (any case).`)
  return upper
}

/** Port's audit-log query from idp's flags: actions and statuses in any case, times as ISO. */
export function auditFilter(flags: AuditFlags, now: Date): AuditFilter {
  const from = flags.from === undefined ? undefined : pastTime('--from', flags.from, now)
  const to = flags.to === undefined ? undefined : pastTime('--to', flags.to, now)
  if (from && to && from > to) throw usageError(`--from ${flags.from} is after --to ${flags.to}.`)
  return {
    action: oneOf('--action', flags.action, ['CREATE', 'UPDATE', 'DELETE']),
    blueprint: flags.blueprint,
    entity: flags.entity,
    from,
    limit: flags.limit,
    resources: flags.resource?.map((resource) => resource.toLowerCase()),
    runId: flags.run,
    status: oneOf('--status', flags.status, ['SUCCESS', 'FAILURE']),
    to,
  }
}
