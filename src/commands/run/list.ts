import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {upperCaseOption} from '../../flags.js'
import type {Run} from '../../model/port.js'
import {printTable} from '../../io/table.js'

export default class RunList extends BaseCommand<typeof RunList> {
  static override summary = 'List recent action runs.'
  static override description = 'Lists action runs, newest first.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --action create_dev_env --status IN_PROGRESS',
  ]
  static override flags = {
    action: Flags.string({char: 'a', summary: 'Only runs of this action.'}),
    limit: Flags.integer({default: 20, max: 1000, min: 1, summary: 'At most this many runs.'}),
    status: upperCaseOption(
      ['IN_PROGRESS', 'WAITING_FOR_APPROVAL', 'SUCCESS', 'FAILURE', 'DECLINED'],
      'Only runs with this status (any case).',
    ),
  }

  async run(): Promise<{runs: Run[]}> {
    const {client} = await this.connect()
    const {action, limit, status} = this.flags
    const active = status === 'IN_PROGRESS' || status === 'WAITING_FOR_APPROVAL' ? true : status ? false : undefined
    // Port filters runs by activity, not by status: ask for more, then keep the status asked for.
    const fetched = await client.runs.list({
      ...(action ? {action} : {}),
      ...(active === undefined ? {} : {active}),
      limit: status ? 1000 : limit,
    })
    const runs = (status ? fetched.filter((run) => run.status === status) : fetched).slice(0, limit)
    return this.emit({runs}, () =>
      printTable(this.io, runs, [
        {get: (run) => run.id, header: 'RUN'},
        {get: (run) => run.action.identifier, header: 'ACTION'},
        {get: (run) => run.status, header: 'STATUS'},
        {get: (run) => run.entity?.identifier, header: 'ENTITY'},
        {get: (run) => run.createdAt, header: 'STARTED'},
        {get: (run) => run.createdBy, header: 'BY'},
      ]),
    )
  }
}
