import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {AuditRecord} from '../../model/port.js'
import {printTable} from '../../io/table.js'
import {describeAudit} from '../../services/history.js'

export default class EntityHistory extends BaseCommand<typeof EntityHistory> {
  static override summary = "Show an entity's change history."
  static override description =
    "Lists the audit log's records of an entity, newest first: when, what changed (old → new), who, and the run it was made for. Deleted entities' history needs admin credentials."
  static override examples = [
    '<%= config.bin %> <%= command.id %> CartService --blueprint Component',
    '<%= config.bin %> <%= command.id %> CartService --blueprint Component --limit 5 --json',
  ]
  static override args = {identifier: Args.string({description: 'Entity identifier.', required: true})}
  static override flags = {
    blueprint: Flags.string({char: 'b', required: true, summary: 'Blueprint identifier.'}),
    limit: Flags.integer({default: 50, max: 10_000, min: 1, summary: 'How many records to show.'}),
  }

  async run(): Promise<{history: AuditRecord[]}> {
    const {client} = await this.connect()
    const history = await client.audit.list({
      blueprint: this.flags.blueprint,
      entity: this.args.identifier,
      limit: this.flags.limit,
      resources: ['entity'],
    })
    return this.emit({history}, () =>
      printTable(this.io, history, [
        {get: (record) => record.trigger.at, header: 'WHEN'},
        {get: (record) => record.action, header: 'ACTION'},
        {get: (record) => describeAudit(record), header: 'CHANGES'},
        {get: (record) => record.trigger.by.userId, header: 'BY'},
        {get: (record) => record.context.runId ?? '', header: 'RUN'},
      ]),
    )
  }
}
