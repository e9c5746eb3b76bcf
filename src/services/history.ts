import type {AuditRecord} from '../model/port.js'
import {textOf} from '../shared/json.js'

export interface FieldChange {
  field: string
  from: unknown
  to: unknown
}

type EntityLike = {
  title?: unknown
  team?: unknown
  properties?: Record<string, unknown>
  relations?: Record<string, unknown>
}

/** The fields that differ between two versions of an entity: title, team, each property and relation. */
export function changedFields(before: EntityLike | null, after: EntityLike | null): FieldChange[] {
  const changes: FieldChange[] = []
  const compare = (field: string, from: unknown, to: unknown) => {
    if (JSON.stringify(from ?? null) !== JSON.stringify(to ?? null)) changes.push({field, from, to})
  }
  compare('title', before?.title, after?.title)
  compare('team', before?.team, after?.team)
  for (const group of ['properties', 'relations'] as const) {
    const names = new Set([...Object.keys(before?.[group] ?? {}), ...Object.keys(after?.[group] ?? {})])
    for (const name of names)
      compare(`${group === 'relations' ? '→' : ''}${name}`, before?.[group]?.[name], after?.[group]?.[name])
  }
  return changes
}

const shown = (value: unknown) => (value === undefined || value === null ? '∅' : textOf(value))

/** One line for an audit record: what happened to which field, `old → new`. */
export function describeAudit(record: AuditRecord): string {
  if (record.resourceType !== 'entity') return `${record.resourceType} ${record.action.toLowerCase()}d`
  if (record.action === 'CREATE') return 'created'
  if (record.action === 'DELETE') return 'deleted'
  const fields = changedFields(record.diff.before as EntityLike | null, record.diff.after as EntityLike | null)
  if (fields.length === 0) return 'no field changed'
  return fields.map(({field, from, to}) => `${field}: ${shown(from)} → ${shown(to)}`).join('; ')
}
