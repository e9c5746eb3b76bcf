import {Flags} from '@oclif/core'

import {ApiError} from '../../api/errors.js'
import {BaseCommand} from '../../base-command.js'
import {IdpError} from '../../errors.js'
import type {AuditRecord} from '../../model/port.js'
import {printTable} from '../../io/table.js'
import {relativeTime} from '../../io/time.js'
import {auditFilter} from '../../services/audit.js'
import {describeAudit} from '../../services/history.js'

export default class Audit extends BaseCommand<typeof Audit> {
  static override summary = "Show the portal's audit log: what changed, when, by whom, for which run."
  static override description = `Reads Port's audit log (GET /v1/audit-log), newest first, narrowed by entity, blueprint, run, action, resource kind, status and time. --from and --to take ISO dates or how long ago ("1h", "2 days"). As on Port, only admins may read the whole log; other credentials must name an entity or a run.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --from 1h',
    '<%= config.bin %> <%= command.id %> --entity CartService --blueprint Component --action update',
    '<%= config.bin %> <%= command.id %> --run r_QOz6WoOB1Q2lmhZZ --json',
    '<%= config.bin %> <%= command.id %> --resource run --status failure --from "2 days" --to 1d',
  ]
  static override flags = {
    entity: Flags.string({char: 'e', summary: 'Records of this entity.'}),
    blueprint: Flags.string({char: 'b', summary: 'Records of this blueprint or its entities.'}),
    run: Flags.string({summary: 'Records of changes made for this run (r_…).'}),
    action: Flags.string({summary: 'CREATE, UPDATE or DELETE (any case).'}),
    resource: Flags.string({
      multiple: true,
      summary: 'Only these kinds: entity, blueprint, action, run (repeatable).',
    }),
    status: Flags.string({summary: 'SUCCESS or FAILURE (any case).'}),
    from: Flags.string({summary: 'Since: an ISO date-time, or how long ago ("1h", "2 days").'}),
    to: Flags.string({summary: 'Until: an ISO date-time, or how long ago.'}),
    limit: Flags.integer({default: 50, max: 10_000, min: 1, summary: 'How many records to show.'}),
  }

  async run(): Promise<{audits: AuditRecord[]}> {
    const now = new Date()
    const filter = auditFilter(this.flags, now)
    const {client} = await this.connect()
    const audits = await client.audit.list(filter).catch((error: unknown) => {
      // Port lets only admins read the whole log; say which flags narrow it to what others may read.
      if (error instanceof ApiError && error.status === 403 && !filter.entity && !filter.runId)
        throw new IdpError(error.message, {
          code: error.code,
          exitCode: error.exitCode,
          hint: 'Credentials that are not an admin’s may read the records of one entity or run: pass --entity or --run.',
        })
      throw error
    })
    return this.emit({audits}, () =>
      printTable(this.io, audits, [
        {get: (record) => record.trigger.at, header: 'WHEN', show: (record) => relativeTime(record.trigger.at, now)},
        {get: (record) => record.resourceType, header: 'RESOURCE'},
        {get: (record) => record.action, header: 'ACTION'},
        {
          get: (record) =>
            record.resourceType === 'entity'
              ? `${record.context.blueprint ?? ''}/${record.context.entity ?? record.identifier}`
              : record.identifier,
          header: 'IDENTIFIER',
        },
        {get: (record) => describeAudit(record), header: 'CHANGES'},
        {get: (record) => record.trigger.by.userId, header: 'BY'},
        {get: (record) => record.context.runId ?? '', header: 'RUN'},
      ]),
    )
  }
}
