import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {AuditRecord, Run} from '../../model/port.js'
import {runUrl} from '../../io/run-view.js'
import {describeAudit} from '../../services/history.js'
import {textOf} from '../../shared/json.js'

export default class RunGet extends BaseCommand<typeof RunGet> {
  static override summary = 'Show one action run.'
  static override description =
    "Shows a run's status, inputs, links and summary, and the catalog changes made for it (entity writes with its run_id, from the audit log). Exits 5 when there is no such run."
  static override examples = ['<%= config.bin %> <%= command.id %> r_QOz6WoOB1Q2lmhZZ']
  static override args = {id: Args.string({description: 'Run id (r_…).', required: true})}

  async run(): Promise<{run: Run; changes: AuditRecord[]}> {
    const {client, target} = await this.connect()
    const run = await this.orSuggest(
      () => client.runs.get(this.args.id),
      this.args.id,
      async () => (await client.runs.list({limit: 100})).map((run) => run.id),
    )
    // The audit log may be closed to these credentials (Port: read:audit-log); the run still shows.
    const changes = await client.audit
      .list({limit: 100, resources: ['entity'], runId: run.id})
      .catch(() => [] as AuditRecord[])
    return this.emit({changes, run}, () => {
      const row = (key: string, value: unknown) =>
        value !== undefined && value !== null && this.io.out(`${this.io.color.bold(key.padEnd(12))} ${textOf(value)}`)
      row('run', run.id)
      row('action', run.action.identifier)
      row('status', run.status + (run.statusLabel ? ` · ${run.statusLabel}` : ''))
      row('entity', run.entity?.identifier)
      row('started', `${run.createdAt} by ${run.createdBy}`)
      row('ended', run.endedAt)
      row('inputs', run.properties)
      for (const link of Array.isArray(run.link) ? run.link : [run.link].filter(Boolean)) row('link', link)
      row('summary', run.summary)
      row(
        'approval',
        run.approval
          ? `${run.approval.state}${run.approval.description ? `: ${run.approval.description}` : ''}`
          : undefined,
      )
      for (const change of changes.toReversed()) {
        const {blueprint, entity} = change.context
        row('changed', `${change.action} ${blueprint}/${entity}: ${describeAudit(change)}`)
      }
      row('url', runUrl(target.apiUrl, run.id))
    })
  }
}
