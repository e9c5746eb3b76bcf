import type {FieldValues, PlanCounts} from '../catalog/diff.js'
import type {Prepared} from './catalog.js'
import {textOf} from '../shared/json.js'

export interface PlanJson {
  source: {name: string; from: string} | null
  counts: PlanCounts
  prunable: number
  changes: {
    action: string
    kind: string
    blueprint?: string
    identifier: string
    fields?: string[]
    /** Entity updates: each changed field's value on the portal and in the file. */
    values?: Record<string, FieldValues>
    file?: string
  }[]
  /** Documents that exist already and no source owns: `adopt` true when this sync takes them over (--adopt). */
  unowned: {kind: string; blueprint?: string; identifier: string; adopt: boolean}[]
}

export function planJson(prepared: Prepared): PlanJson {
  const changes = [...prepared.plan.blueprints, ...prepared.plan.actions, ...prepared.plan.entities]
    .filter((change) => change.action !== 'unchanged')
    .map((change) => ({
      action: change.action,
      kind: change.kind,
      ...(change.kind === 'entity' ? {blueprint: change.blueprint} : {}),
      identifier: change.identifier,
      ...(change.fields ? {fields: change.fields} : {}),
      ...('values' in change && change.values ? {values: change.values} : {}),
      ...(change.file ? {file: change.file} : {}),
    }))
  const source = prepared.source ? {from: prepared.source.from, name: prepared.source.name} : null
  const unowned = prepared.plan.unowned.map(({adopt, change}) => ({
    adopt,
    kind: change.kind,
    ...(change.kind === 'entity' ? {blueprint: change.blueprint} : {}),
    identifier: change.identifier,
  }))
  return {changes, counts: prepared.counts, prunable: prepared.prunable, source, unowned}
}

const shown = (value: unknown) => (value === undefined || value === null ? '∅' : textOf(value))

/** What changes: `field: old → new` where the values are known, else the field names. */
export function changeText(change: PlanJson['changes'][number]): string {
  return (change.fields ?? [])
    .map((field) => {
      const value = change.values?.[field]
      const name = field.replace(/^(properties|relations)\./, '')
      return value ? `${name}: ${shown(value.from)} → ${shown(value.to)}` : field
    })
    .join('; ')
}

export const changeName = (change: {kind: string; identifier: string; blueprint?: string | undefined}) =>
  change.kind === 'entity' ? `${change.blueprint}/${change.identifier}` : change.identifier

export function planSummary({counts, prunable, unowned}: Pick<PlanJson, 'counts' | 'prunable' | 'unowned'>): string {
  const parts = [
    `${counts.create} to create`,
    `${counts.update} to update`,
    `${counts.unchanged} unchanged`,
    `${counts.delete} to delete`,
  ]
  const hint =
    prunable > 0 ? ` (${prunable} owned by this source are no longer in the folder; --prune deletes them)` : ''
  const adopted = unowned.filter((item) => item.adopt).length
  const left = unowned.length - adopted
  const adoption = [
    adopted > 0 ? ` ${adopted} existing documents will be adopted (owned by this source from now on).` : '',
    left > 0
      ? ` ${left} existed before and are not owned by this source: sync updates them, prune never deletes them (--adopt takes them over).`
      : '',
  ].join('')
  return `Plan: ${parts.join(', ')}.${hint}${adoption}`
}

/** A GitHub-flavoured Markdown plan for a pull-request comment. */
export function planMarkdown(view: PlanJson): string {
  const lines = ['### idp catalog plan', '', planSummary(view), '']
  if (view.changes.length > 0) {
    lines.push('| Action | Kind | Identifier | Changes |', '| --- | --- | --- | --- |')
    for (const change of view.changes) {
      const fields = changeText(change).replaceAll('|', '\\|')
      lines.push(`| ${change.action} | ${change.kind} | \`${changeName(change).replaceAll('|', '\\|')}\` | ${fields} |`)
    }
  }
  return lines.join('\n')
}
