import type {PlanCounts} from '../catalog/diff.js'
import type {Prepared} from './catalog.js'

export interface PlanJson {
  source: {name: string; from: string} | null
  counts: PlanCounts
  prunable: number
  changes: {action: string; kind: string; blueprint?: string; identifier: string; fields?: string[]; file?: string}[]
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
      ...(change.file ? {file: change.file} : {}),
    }))
  const source = prepared.source ? {from: prepared.source.from, name: prepared.source.name} : null
  return {changes, counts: prepared.counts, prunable: prepared.prunable, source}
}

export const changeName = (change: {kind: string; identifier: string; blueprint?: string | undefined}) =>
  change.kind === 'entity' ? `${change.blueprint}/${change.identifier}` : change.identifier

export function planSummary(counts: PlanCounts, prunable: number): string {
  const parts = [
    `${counts.create} to create`,
    `${counts.update} to update`,
    `${counts.unchanged} unchanged`,
    `${counts.delete} to delete`,
  ]
  const hint =
    prunable > 0 ? ` (${prunable} owned by this source are no longer in the folder; --prune deletes them)` : ''
  return `Plan: ${parts.join(', ')}.${hint}`
}

/** A GitHub-flavoured Markdown plan for a pull-request comment. */
export function planMarkdown(view: PlanJson): string {
  const lines = ['### idp catalog plan', '', planSummary(view.counts, view.prunable), '']
  if (view.changes.length > 0) {
    lines.push('| Action | Kind | Identifier | Changes |', '| --- | --- | --- | --- |')
    for (const change of view.changes) {
      const fields = (change.fields ?? []).map((field) => `\`${field}\``).join(', ')
      lines.push(`| ${change.action} | ${change.kind} | \`${changeName(change).replaceAll('|', '\\|')}\` | ${fields} |`)
    }
  }
  return lines.join('\n')
}
