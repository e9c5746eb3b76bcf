import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {Run} from '../../model/port.js'

export default class RunDecline extends BaseCommand<typeof RunDecline> {
  static override summary = 'Decline an action run that waits for approval.'
  static override description = 'Declines a WAITING_FOR_APPROVAL run; DECLINED is final.'
  static override examples = ['<%= config.bin %> <%= command.id %> r_QOz6WoOB1Q2lmhZZ --reason "not during the freeze"']
  static override args = {id: Args.string({description: 'Run id (r_…).', required: true})}
  static override flags = {reason: Flags.string({summary: 'Why; shown to whoever started the run.'})}

  async run(): Promise<{run: Run}> {
    const {client} = await this.connect()
    const run = await client.runs.approve(this.args.id, {
      status: 'DECLINE',
      ...(this.flags.reason ? {description: this.flags.reason} : {}),
    })
    return this.emit({run}, () => this.io.out(`Declined ${run.id}.`))
  }
}
